"""The IP Insights image (``ipinsights``): ``python -m kamado.images.ip_insights train|serve``."""
