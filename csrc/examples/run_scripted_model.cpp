// Loads a TorchScript model that uses surrogate_ext operators, runs forward and backward to the
// input, and prints the results: what a C++ (libtorch) user of surrogate_ext does.
//
//   run_scripted_model MODEL.pt DATA.pt [tolerance]
//
// DATA.pt is a scripted module holding tensor attributes: `x` (the input) and, optionally,
// `expected_y` and `expected_grad` (Python's numbers). With them, the program compares and exits
// with status 1 when the largest difference exceeds the tolerance (default 1e-10).
//
// Link with -Wl,--no-as-needed against libsurrogate_ext.so (or dlopen it): loading the library
// registers the operators and their C++ autograd; nothing here references it by name.

#include <torch/script.h>

#include <cstdlib>
#include <iostream>
#include <string>

namespace {

double max_abs_diff(const at::Tensor& a, const at::Tensor& b) {
  return (a - b).abs().max().item<double>();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: " << argv[0] << " MODEL.pt DATA.pt [tolerance]\n";
    return 2;
  }
  const double tolerance = argc > 3 ? std::strtod(argv[3], nullptr) : 1e-10;
  torch::jit::Module model = torch::jit::load(argv[1]);
  torch::jit::Module data = torch::jit::load(argv[2]);

  at::Tensor x = data.attr("x").toTensor().clone().requires_grad_(true);
  at::Tensor y = model.forward({x}).toTensor();
  y.sum().backward();
  std::cout << "y =\n" << y << "\ngrad_x =\n" << x.grad() << "\n";

  if (!data.hasattr("expected_y")) return 0;
  const double y_error = max_abs_diff(y.detach(), data.attr("expected_y").toTensor());
  const double grad_error = max_abs_diff(x.grad(), data.attr("expected_grad").toTensor());
  std::cout << "max |y - python| = " << y_error << ", max |grad_x - python| = " << grad_error
            << " (tolerance " << tolerance << ")\n";
  const bool ok = y_error <= tolerance && grad_error <= tolerance && x.grad().abs().sum().item<double>() > 0;
  std::cout << (ok ? "MATCH" : "MISMATCH") << "\n";
  return ok ? 0 : 1;
}
