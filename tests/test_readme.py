"""The README and the code agree: every public name and setting is documented."""

import json
import re
from pathlib import Path

from core import conf, queue
from core.jobs import spec
from core.jobs.filters import FILTERS

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def test_readme_opens_with_the_two_commands():
    first_block = README.split("```")[1]
    assert "make run" in first_block
    assert "make test" in first_block


def test_every_queue_api_function_is_in_the_readme_table():
    documented = set(re.findall(r"^\| `(\w+)\(", README, flags=re.MULTILINE))
    assert documented == set(queue.__all__)


def test_every_queueadmin_setting_is_documented_with_its_default():
    for key, default in conf.DEFAULTS.items():
        assert f"| `{key}` | `{json.dumps(default)}` |" in README


def test_every_enqueue_option_edit_field_and_filter_is_named():
    for name in spec.ENQUEUE_OPTIONS | spec.EDITABLE_FIELDS | FILTERS:
        assert f"`{name}`" in README, name


def test_every_environment_variable_is_documented():
    for name in ("DATABASE_URL", "SECRET_KEY", "DEBUG", "ALLOWED_HOSTS"):
        assert f"| `{name}` |" in README


def test_the_layout_section_names_every_package_of_core():
    layout = README.split("### Layout")[1].split("\n## ")[0]
    core = Path(__file__).resolve().parent.parent / "core"
    packages = sorted(p.name for p in core.iterdir() if (p / "__init__.py").exists())
    assert [name for name in packages if f"`{name}/" not in layout] == []
