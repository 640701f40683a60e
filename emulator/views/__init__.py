"""What people see of each resource, shared by the two faces for people: ``amlemu`` (ls,
describe, logs, exec, build-log, models) and the portal. The rows and blades are built from the
v1 faces' objects, so both show exactly what the SDK would return."""
