"""Staff users with chosen permissions, and test clients logged in as them."""

from django.contrib.auth.models import Permission, User
from django.test import Client


def make_user(username, *codenames, is_staff=True):
    """A user with these ``core`` permissions (no password, so no slow hashing)."""
    user = User.objects.create_user(username, is_staff=is_staff)
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="core", codename__in=codenames)
    )
    return user


def client_for(user, **kwargs):
    """A test client logged in as ``user``."""
    client = Client(**kwargs)
    client.force_login(user)
    return client


def staff_with(*codenames, username="limited"):
    """A test client logged in as a new staff user holding these ``core`` permissions."""
    return client_for(make_user(username, *codenames))
