"""Projects: the ``.dlsproj`` file format (schema, migrations, load and save)."""

from dlstudio.project.io import (
    MAX_FILE_BYTES,
    SUFFIX,
    Project,
    ProjectError,
    load_project,
    new_project,
    project_from_dict,
    project_from_json,
    project_to_dict,
    project_to_json,
    save_project,
)
from dlstudio.project.migrate import MIGRATIONS, MigrationError, migrate
from dlstudio.project.schema import FORMAT_VERSION, DatasetRef, TrainingSettings

__all__ = [
    "FORMAT_VERSION", "MAX_FILE_BYTES", "MIGRATIONS", "SUFFIX", "DatasetRef", "MigrationError",
    "Project", "ProjectError", "TrainingSettings", "load_project", "migrate", "new_project",
    "project_from_dict", "project_from_json", "project_to_dict", "project_to_json",
    "save_project",
]
