#!/usr/bin/env bash
# Regenerates the committed *_pb2.py / *_pb2.pyi / *_pb2_grpc.py from the .proto files here.
# grpcio-tools 1.62.x bundles protobuf 4.25, so the output loads with every protobuf >= 4.25
# and grpcio >= 1.60 (newer generators add runtime version checks that would raise the floor).
# Usage (from anywhere): bash emulator/accel/proto/regenerate.sh
set -euo pipefail
cd "$(dirname "$0")/../../.."
venv="${TMPDIR:-/tmp}/amlemu-grpc-tools-1.62"
[ -x "$venv/bin/python" ] || { python3 -m venv "$venv" && "$venv/bin/pip" install -q 'grpcio-tools==1.62.3'; }
"$venv/bin/python" -m grpc_tools.protoc -I . \
  --python_out=. --pyi_out=. --grpc_python_out=. \
  emulator/accel/proto/types.proto emulator/accel/proto/tensor_shape.proto \
  emulator/accel/proto/tensor.proto emulator/accel/proto/model.proto \
  emulator/accel/proto/predict.proto emulator/accel/proto/prediction_service.proto
# protoc writes a (useless) _grpc module for every file; only the service's is kept.
for f in types tensor_shape tensor model predict; do rm -f "emulator/accel/proto/${f}_pb2_grpc.py"; done
