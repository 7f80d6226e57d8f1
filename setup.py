"""The build step that puts the kit into the wheel; the metadata lives in setup.cfg.

``asterisk-conf/``, ``sounds/`` and ``examples/`` stay at the top of the repository (their
one source); ``build_py`` copies them into ``agi_callbot/kit/`` of the built package.
An editable install (``pip install -e .``) needs no copy: ``agi_callbot.kit`` finds the
folders in the checkout.
"""

import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from agi_callbot.kit import copy_kit  # noqa: E402  (standard library only)


class BuildWithKit(build_py):
    def run(self):
        super().run()
        if not getattr(self, "editable_mode", False):
            copy_kit(HERE, Path(self.build_lib) / "agi_callbot" / "kit")


setup(cmdclass={"build_py": BuildWithKit})
