"""Staff users with chosen permissions, test clients logged in as them, and the messages
those clients are shown."""

from django.contrib.auth.models import Permission, User
from django.test import Client


def make_user(username, *codenames, is_staff=True):
    """A user with these ``core`` permissions (no password, so no slow hashing)."""
    user = User.objects.create_user(username, is_staff=is_staff)
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="queueadmin", codename__in=codenames)
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


def messages_of(response) -> list[str]:
    """The texts of the messages (django.contrib.messages) a response rendered."""
    return [str(m) for m in response.context["messages"]]
