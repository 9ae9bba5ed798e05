"""Graph passes of qnncc, importable by name: ``from qnncc.transforms import InferShapes``.

Every pass is a :class:`qnncc.Transformation`; apply it with
``model = model.transform(Pass())`` (in place, see :class:`qnncc.ModelWrapper`).
"""

__all__: list[str] = []
