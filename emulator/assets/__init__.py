"""State of SDK v2's assets that SDK v1 has no counterpart for: the default datastore's blob
containers (what ``azure-storage-blob`` uploads land in). Below the faces: ``arm/`` translates
HTTP to these calls and back."""
