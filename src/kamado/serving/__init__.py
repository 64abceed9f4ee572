"""What runs inside a serving container: kamado's model server.

One process (``python -m kamado.serving``, or an image's ``serve`` program) is one container
of SageMaker hosting: it loads one model from ``$SAGEMAKER_BASE_DIR/model`` and answers
``GET /ping`` and ``POST /invocations`` on the port SageMaker names
(``reference/inference-contract.md`` §1, §2). What a model does with a request is said by a
handler module in the inference toolkit's vocabulary (``model_fn``, ``input_fn``,
``predict_fn``, ``output_fn``, ``transform_fn``): the built-in algorithms' modules and a
user's ``inference.py`` go through the same server code (:mod:`.handlers`).
"""
