"""The README as resources: its ## and ### sections, found in a checkout or in the
installed distribution's metadata."""

from importlib import metadata

import pytest

from core.mcp import readme

TEXT = """# title

intro

## Install

```sh
# not a heading: a shell comment
pip install queueadmin
```

### Options

text

## Install
"""


def test_sections_are_the_level_two_and_three_headings_outside_code():
    found = readme.sections(TEXT)
    assert [(s.slug, s.title, s.level) for s in found] == [
        ("install", "Install", 2),
        ("options", "Options", 3),
        ("install-2", "Install", 2),
    ]


def test_a_section_holds_its_lines_up_to_the_next_heading():
    install = readme.sections(TEXT)[0]
    assert install.text == (
        "## Install\n\n```sh\n# not a heading: a shell comment\npip install queueadmin\n```\n"
    )


def test_slugs_are_lower_case_words_joined_by_hyphens():
    assert readme.slugify("The Python API (`core.queue`)") == "the-python-api-core-queue"


def test_a_checkout_reads_its_readme_file(tmp_path):
    (tmp_path / "README.md").write_text("## Mine\n")
    (tmp_path / "pyproject.toml").write_text("")
    assert readme.readme_text(tmp_path) == "## Mine\n"


def test_an_installed_package_reads_the_readme_from_its_metadata(tmp_path):
    # No checkout around the package (a wheel in site-packages): the long description.
    text = readme.readme_text(tmp_path)
    assert text == metadata.metadata("queueadmin")["Description"]
    assert "## The Python API (`core.queue`)" in text


def test_a_readme_file_without_a_pyproject_beside_it_is_not_ours(tmp_path):
    (tmp_path / "README.md").write_text("## Some other project\n")
    assert readme.readme_text(tmp_path) != "## Some other project\n"


def test_no_readme_anywhere_is_none(tmp_path, monkeypatch):
    def missing(name):
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(readme.metadata, "metadata", missing)
    assert readme.readme_text(tmp_path) is None


@pytest.mark.parametrize("slug", ["the-python-api-core-queue", "searching-inside-jobs"])
def test_the_repository_readme_has_the_sections_the_brief_names(slug):
    assert slug in {s.slug for s in readme.sections(readme.readme_text())}
