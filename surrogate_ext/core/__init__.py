"""The operator library's core: everything the API namespaces are generated from.

* :mod:`.library`: loads ``libsurrogate_ext.so`` (the operators' schemas and kernels) and reports
  how it was built;
* :mod:`.registry`: the table of surrogates (one row each, the Python twin of the C++ table in
  ``csrc/include/surrogate_ext/surrogates.h``);
* :mod:`.reference`: the pure-PyTorch formulas, the float64 oracle of every test;
* :mod:`.fake`: fake kernels for torch.compile and torch.export;
* :mod:`.inductor`: decompositions that let Inductor fuse the elementwise operators;
* :mod:`.classes` and :mod:`.peers`: the factories that turn table rows into module classes and
  functions, for the namespaces;
* :mod:`.cuda_code` and :mod:`.checks`: SpikingJelly's cuda_code snippets and the documented
  gradient checkers.
"""
from . import library  # noqa: F401  (loads the operators first)
