"""Entry scripts for no-code deployment (a model registered with ``model_framework`` and no
``InferenceConfig``): what Azure ML generates for scikit-learn and ONNX models."""
