"""The BlazingText image (``blazingtext``): ``python -m kamado.images.blazingtext train|serve``."""
