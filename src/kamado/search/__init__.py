"""SageMaker Search as a library: property names resolved against the SearchRecord shapes,
SearchExpressions checked and read into a tree, the tree evaluated in SQL over the store (or in
Python on rendered records where SQL cannot follow), sorted and paged.

``register`` is how a resource family becomes searchable (see :mod:`kamado.search.registry`);
the provider that serves Search and GetSearchSuggestions is
:mod:`kamado.services.sagemaker.search`.
"""

from kamado.search.registry import register, registered, searchable
from kamado.search.sql import (ARN, CREATED, DATA, FINAL_METRICS, MODIFIED, NAME, STATUS, TAGS,
                               Column, Data, Field, Rows)

__all__ = ["register", "registered", "searchable", "Field", "Column", "Data", "Rows", "NAME",
           "ARN", "STATUS", "CREATED", "MODIFIED", "DATA", "TAGS", "FINAL_METRICS"]
