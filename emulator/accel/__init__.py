"""The FPGA (Project Brainwave) stand-in: accelerated models served by ONNX Runtime.

``converter`` turns ONNX, scikit-learn and (with tf2onnx) TensorFlow models into checked ONNX,
optionally in the accelerator's reduced precision; ``serving`` answers TF-Serving's gRPC
``Predict`` for several named models behind one port, ``scoring`` the HTTP ``/score`` JSON;
``client`` is the SDK's ``PredictionClient``. Nothing here imports ``emulator.sdk``; the
``azureml.accel`` faces live in ``emulator/sdk/accel.py``. Needs the ``accel`` extra.
"""
