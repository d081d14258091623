"""Stands for hostile code a model file may name as its module: importing it leaves a
marker file behind (where DLSTUDIO_TEST_MARKER says), so a test can prove it never ran."""

import os
from pathlib import Path

if os.environ.get("DLSTUDIO_TEST_MARKER"):
    Path(os.environ["DLSTUDIO_TEST_MARKER"]).write_text("the module named in the model file was imported")


class Payload:
    """A 'layer' class the model file points at."""

    @classmethod
    def from_config(cls, config):
        if os.environ.get("DLSTUDIO_TEST_MARKER"):
            Path(os.environ["DLSTUDIO_TEST_MARKER"]).write_text("Payload.from_config ran")
        return cls()
