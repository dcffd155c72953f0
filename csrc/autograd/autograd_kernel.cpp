// Autograd for every surrogate_ext operator: one boxed kernel on the Autograd key, in C++, so that
// scripted models differentiate in processes with no Python. It is written once for all
// operators (a template per surrogate would cost minutes of compile time for nothing) and pairs
// each operator with its backward by name:
//
//   OP with an operator OP_backward: differentiable. Its backward is called with arguments
//     matched by name: grad_output (the gradient of OP's single output) or grad_<output> (of the
//     output of that name; undefined gradients become zeros, or None for a `Tensor?` argument),
//     any of OP's arguments, any of OP's outputs (saved in the forward), and output_mask (a
//     bool[]? argument: for each of OP_backward's outputs, whether autograd needs it, as ATen's
//     backwards take it). OP_backward's outputs are named grad_<argument>: each is the gradient
//     of OP's tensor argument of that name.
//   OP_backward (any name ending in _backward): differentiable once, by its caller; differentiating
//     it again raises "double backward is not supported" rather than giving a wrong value.
//   anything else (heaviside, build_info): not differentiable, like x >= 0.
//
// When no gradient is needed the kernel calls the operator directly, without an autograd node.

#include <surrogate_ext/neurons.h>
#include <surrogate_ext/surrogates.h>

#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/core/stack.h>
#include <ATen/ops/zeros.h>
#include <torch/autograd.h>
#include <torch/library.h>

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace surrogate_ext {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool is_tensor_type(const c10::Argument& a) {
  const auto& type = a.type();
  if (type->kind() == c10::TypeKind::TensorType) return true;
  const auto optional = type->cast<c10::OptionalType>();
  return optional && optional->getElementType()->kind() == c10::TypeKind::TensorType;
}

// How one operator is differentiated, worked out once from the two schemas.
struct Derivative {
  enum class Kind { kNone, kOnce, kDifferentiable };
  Kind kind = Kind::kNone;
  c10::OperatorHandle backward;
  std::vector<size_t> tensor_args;  // positions of OP's tensor arguments

  // Where each argument of OP_backward comes from.
  enum class Source { kGrad, kArg, kOutput, kOutputMask };
  struct Slot {
    Source source;
    size_t index;   // output number (kGrad, kOutput) or argument position (kArg)
    bool optional;  // a `Tensor?` argument: an undefined gradient is passed as None
    bool to_float;  // a `float` argument: an int that reached the forward (tracing) is converted
  };
  std::vector<Slot> slots;
  // For each output of OP_backward, the index in tensor_args of the input it is the gradient of.
  std::vector<int64_t> grad_of;
  // What the forward saves: tensor arguments (positions) and outputs (numbers) the backward reads.
  std::vector<size_t> saved_args, saved_outputs;

  explicit Derivative(c10::OperatorHandle b) : backward(std::move(b)) {}
};

size_t find_name(const std::vector<c10::Argument>& list, const std::string& name, size_t none) {
  for (size_t i = 0; i < list.size(); ++i) {
    if (list[i].name() == name) return i;
  }
  return none;
}

Derivative make_derivative(const c10::OperatorHandle& op) {
  const auto& schema = op.schema();
  const std::string name = schema.name();
  const auto backward = c10::Dispatcher::singleton().findOp({name + "_backward", ""});
  if (ends_with(name, "_backward")) {
    Derivative d(op);
    d.kind = Derivative::Kind::kOnce;
    for (size_t i = 0; i < schema.arguments().size(); ++i) {
      if (is_tensor_type(schema.arguments()[i])) d.tensor_args.push_back(i);
    }
    return d;
  }
  if (!backward.has_value()) return Derivative(op);

  Derivative d(*backward);
  d.kind = Derivative::Kind::kDifferentiable;
  const auto& args = schema.arguments();
  const auto& outs = schema.returns();
  for (size_t i = 0; i < args.size(); ++i) {
    if (is_tensor_type(args[i])) d.tensor_args.push_back(i);
  }
  const size_t none = size_t(-1);
  for (const auto& b : d.backward.schema().arguments()) {
    const std::string& n = b.name();
    const auto optional_type = b.type()->cast<c10::OptionalType>();
    const bool optional = optional_type != nullptr;
    const bool to_float =
        (optional ? optional_type->getElementType() : b.type())->kind() == c10::TypeKind::FloatType;
    size_t i;
    if (n == "output_mask") {
      d.slots.push_back({Derivative::Source::kOutputMask, 0, optional, false});
    } else if (n == "grad_output" && outs.size() == 1) {
      d.slots.push_back({Derivative::Source::kGrad, 0, optional, false});
    } else if (n.rfind("grad_", 0) == 0 && (i = find_name(outs, n.substr(5), none)) != none) {
      d.slots.push_back({Derivative::Source::kGrad, i, optional, false});
    } else if ((i = find_name(args, n, none)) != none) {
      d.slots.push_back({Derivative::Source::kArg, i, optional, to_float});
      if (is_tensor_type(args[i])) d.saved_args.push_back(i);
    } else if ((i = find_name(outs, n, none)) != none) {
      d.slots.push_back({Derivative::Source::kOutput, i, optional, false});
      d.saved_outputs.push_back(i);
    } else {
      TORCH_CHECK(false, name, "_backward: argument '", n, "' matches no argument or output of ",
                  name);
    }
  }
  for (const auto& r : d.backward.schema().returns()) {
    const std::string& n = r.name();
    const size_t i = n.rfind("grad_", 0) == 0 ? find_name(args, n.substr(5), none) : none;
    int64_t k = -1;
    for (size_t j = 0; j < d.tensor_args.size(); ++j) {
      if (d.tensor_args[j] == i) k = static_cast<int64_t>(j);
    }
    TORCH_CHECK(k >= 0, name, "_backward: output '", n, "' names no tensor argument of ", name);
    d.grad_of.push_back(k);
  }
  return d;
}

// One Derivative per operator, made on first use (the schemas are all defined by then).
const Derivative& derivative_of(const c10::OperatorHandle& op) {
  static std::mutex mutex;
  static std::unordered_map<std::string, std::unique_ptr<Derivative>> table;
  const std::lock_guard<std::mutex> lock(mutex);
  auto& entry = table[op.schema().name()];
  if (!entry) entry = std::make_unique<Derivative>(make_derivative(op));
  return *entry;
}

void call_below_autograd(const c10::OperatorHandle& op, torch::jit::Stack* stack) {
  at::AutoDispatchBelowADInplaceOrView guard;
  op.callBoxed(stack);
}

variable_list to_tensors(const torch::jit::Stack& stack) {
  variable_list out;
  for (const auto& v : stack) out.push_back(v.toTensor());
  return out;
}

// The operator's defined tensor arguments, which autograd tracks (a None `Tensor?` is not an
// input), and for each tensor argument its index among them (-1 for None).
struct TensorInputs {
  variable_list tensors;
  std::vector<int64_t> index;
};

TensorInputs tensor_inputs(const Derivative& d, const torch::jit::Stack& args) {
  TensorInputs in;
  for (size_t i : d.tensor_args) {
    if (args[i].isTensor() && args[i].toTensor().defined()) {
      in.index.push_back(static_cast<int64_t>(in.tensors.size()));
      in.tensors.push_back(args[i].toTensor());
    } else {
      in.index.push_back(-1);
    }
  }
  return in;
}

// args: all of OP's arguments; their tensors are also passed in `tensors`, which is what autograd
// sees (a TensorList argument is one input per tensor).
struct Differentiable : torch::autograd::Function<Differentiable> {
  static variable_list forward(AutogradContext* ctx, at::TensorList tensors,
                               const c10::OperatorHandle* op, const Derivative* d,
                               const std::vector<int64_t>* index, torch::jit::Stack args) {
    torch::jit::Stack stack = args;
    call_below_autograd(*op, &stack);
    variable_list outputs = to_tensors(stack);

    ctx->set_materialize_grads(false);
    variable_list saved;
    for (size_t i : d->saved_args) saved.push_back(args[i].isTensor() ? args[i].toTensor() : at::Tensor());
    for (size_t i : d->saved_outputs) saved.push_back(outputs[i]);
    ctx->save_for_backward(saved);
    // The non-tensor arguments, and each output's shape for a gradient that never arrives.
    c10::impl::GenericList rest(c10::AnyType::get());
    for (const auto& a : args) rest.push_back(a.isTensor() ? c10::IValue() : a);
    ctx->saved_data["args"] = rest;
    c10::impl::GenericList shapes(c10::AnyType::get());
    for (const auto& o : outputs) shapes.push_back(c10::IValue(o.sym_sizes()));  // symbolic under export
    ctx->saved_data["output_sizes"] = shapes;
    ctx->saved_data["derivative"] = reinterpret_cast<int64_t>(d);
    ctx->saved_data["tensor_count"] = static_cast<int64_t>(tensors.size());
    ctx->saved_data["index"] = c10::IValue(*index);
    return outputs;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto* d = reinterpret_cast<const Derivative*>(ctx->saved_data["derivative"].toInt());
    const int64_t tensor_count = ctx->saved_data["tensor_count"].toInt();
    variable_list result(static_cast<size_t>(tensor_count) + 4);
    bool any_grad = false;
    for (const auto& g : grads) any_grad = any_grad || g.defined();
    if (!any_grad) return result;

    const variable_list saved = ctx->get_saved_variables();
    const auto rest = ctx->saved_data["args"].toList();
    const auto shapes = ctx->saved_data["output_sizes"].toList();
    at::Tensor like;  // a defined gradient: its dtype and device for the zeros
    for (const auto& g : grads) {
      if (g.defined()) like = g;
    }
    torch::jit::Stack stack;
    for (const auto& slot : d->slots) {
      switch (slot.source) {
        case Derivative::Source::kGrad: {
          const at::Tensor& g = grads[slot.index];
          if (g.defined()) {
            stack.emplace_back(g);
          } else if (slot.optional) {
            stack.emplace_back();
          } else {
            stack.emplace_back(
                at::zeros_symint(shapes.get(slot.index).toSymIntVector(), like.options()));
          }
          break;
        }
        case Derivative::Source::kArg: {
          size_t k = 0;
          while (k < d->saved_args.size() && d->saved_args[k] != slot.index) ++k;
          if (k < d->saved_args.size()) {
            const at::Tensor& t = saved[k];
            if (t.defined()) {
              stack.emplace_back(t);
            } else {
              stack.emplace_back();
            }
          } else {
            const c10::IValue value = rest.get(slot.index);
            stack.push_back(slot.to_float && value.isInt() ? c10::IValue(static_cast<double>(value.toInt()))
                                                           : value);
          }
          break;
        }
        case Derivative::Source::kOutputMask: {
          c10::List<bool> mask;
          const auto index = ctx->saved_data["index"].toIntVector();
          for (const int64_t j : d->grad_of) {
            const int64_t k = index[static_cast<size_t>(j)];
            mask.push_back(k >= 0 && ctx->needs_input_grad(static_cast<size_t>(k)));
          }
          stack.emplace_back(std::move(mask));
          break;
        }
        case Derivative::Source::kOutput: {
          size_t k = 0;
          while (d->saved_outputs[k] != slot.index) ++k;
          stack.emplace_back(saved[d->saved_args.size() + k]);
          break;
        }
      }
    }
    d->backward.callBoxed(&stack);  // with autograd: differentiating it again raises
    const auto index = ctx->saved_data["index"].toIntVector();
    for (size_t j = 0; j < stack.size(); ++j) {
      const int64_t k = index[static_cast<size_t>(d->grad_of[j])];
      if (k >= 0 && stack[j].isTensor() && ctx->needs_input_grad(static_cast<size_t>(k))) {
        result[static_cast<size_t>(k)] = stack[j].toTensor();
      }
    }
    return result;
  }
};

// A backward operator: its outputs take part in autograd only to raise if differentiated.
struct OnceDifferentiable : torch::autograd::Function<OnceDifferentiable> {
  static variable_list forward(AutogradContext* ctx, at::TensorList tensors,
                               const c10::OperatorHandle* op, torch::jit::Stack args) {
    call_below_autograd(*op, &args);
    ctx->saved_data["name"] = op->schema().name();
    ctx->saved_data["tensor_count"] = static_cast<int64_t>(tensors.size());
    return to_tensors(args);
  }
  static variable_list backward(AutogradContext* ctx, variable_list) {
    TORCH_CHECK(false, ctx->saved_data["name"].toStringRef(), ": double backward is not supported");
    return {};
  }
};

bool needs_grad(const variable_list& tensors) {
  if (!at::GradMode::is_enabled()) return false;
  for (const auto& t : tensors) {
    if (t.requires_grad()) return true;
  }
  return false;
}

void autograd_kernel(const c10::OperatorHandle& op, c10::DispatchKeySet, torch::jit::Stack* stack) {
  const Derivative& d = derivative_of(op);
  const size_t num_args = op.schema().arguments().size();
  if (d.kind == Derivative::Kind::kNone) {
    call_below_autograd(op, stack);
    return;
  }
  torch::jit::Stack args(stack->end() - static_cast<std::ptrdiff_t>(num_args), stack->end());
  const TensorInputs in = tensor_inputs(d, args);
  if (!needs_grad(in.tensors)) {
    call_below_autograd(op, stack);
    return;
  }
  torch::jit::drop(*stack, num_args);
  const variable_list outputs =
      d.kind == Derivative::Kind::kDifferentiable
          ? Differentiable::apply(at::TensorList(in.tensors), &op, &d, &in.index, std::move(args))
          : OnceDifferentiable::apply(at::TensorList(in.tensors), &op, std::move(args));
  for (const auto& o : outputs) stack->emplace_back(o);
}

}  // namespace

void register_autograd(torch::Library& m, const char* name) {
  m.impl(name, torch::CppFunction::makeFromBoxedFunction<&autograd_kernel>());
}

}  // namespace surrogate_ext

TORCH_LIBRARY_IMPL(surrogate_ext, Autograd, m) {
  using surrogate_ext::register_autograd;
  register_autograd(m, "surrogate_ext::heaviside");
#define SURROGATE_EXT_REGISTER(op, Functor, params)                     \
  register_autograd(m, "surrogate_ext::" #op);                          \
  register_autograd(m, "surrogate_ext::" #op "_primitive");             \
  register_autograd(m, "surrogate_ext::" #op "_backward");              \
  register_autograd(m, "surrogate_ext::" #op "_primitive_backward");
  SURROGATE_EXT_FOR_EACH_SURROGATE(SURROGATE_EXT_REGISTER)
#undef SURROGATE_EXT_REGISTER
#define SURROGATE_EXT_REGISTER(name, Functor, extra_states, params)      \
  register_autograd(m, "surrogate_ext::" #name "_multistep");           \
  register_autograd(m, "surrogate_ext::" #name "_multistep_backward");  \
  register_autograd(m, "surrogate_ext::" #name "_step");                \
  register_autograd(m, "surrogate_ext::" #name "_step_backward");
  SURROGATE_EXT_FOR_EACH_NEURON(SURROGATE_EXT_REGISTER)
#undef SURROGATE_EXT_REGISTER
  register_autograd(m, "surrogate_ext::stochastic_spike_operator");
  register_autograd(m, "surrogate_ext::stochastic_spike_operator_backward");
}
