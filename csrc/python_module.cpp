// Importing surrogate_ext._C loads this shared library, which runs the TORCH_LIBRARY
// registrations. The module itself has no Python functions: everything is in torch.ops.
#include <Python.h>

extern "C" {
PyObject* PyInit__C(void) {
  static struct PyModuleDef module_def = {PyModuleDef_HEAD_INIT, "_C", nullptr, -1, nullptr};
  return PyModule_Create(&module_def);
}
}
