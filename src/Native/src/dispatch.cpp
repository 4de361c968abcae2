// Generic operator call through the c10 dispatcher: any registered op (aten, torchvision)
// is reachable by name + overload with a boxed argument stack. Autograd works because the
// boxed call goes through the same dispatch keys as the typed C++ API.
#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/core/function_schema.h>

#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "errors.h"
#include "handles.h"
#include "mlnetseg_native.h"

namespace {

using c10::IValue;
using c10::TypeKind;

std::string describe(const c10::Argument& arg) {
  return "argument '" + arg.name() + "' (" + arg.type()->str() + ")";
}

[[noreturn]] void bad_arg(const c10::FunctionSchema& schema, const c10::Argument& arg,
                          const std::string& why) {
  throw std::invalid_argument(schema.operator_name().name + ": " + describe(arg) + ": " + why);
}

const int64_t* int_data(const mls_value& v) {
  return v.len <= MLS_INLINE ? v.inl : static_cast<const int64_t*>(v.v.ptr);
}

// The schema type with Optional[...] removed.
c10::TypePtr base_type(const c10::TypePtr& t) {
  if (t->kind() == TypeKind::OptionalType) return t->expectRef<c10::OptionalType>().getElementType();
  return t;
}

IValue to_ivalue(const c10::FunctionSchema& schema, const c10::Argument& arg, const mls_value& v) {
  auto type = base_type(arg.type());
  auto kind = type->kind();
  switch (v.tag) {
    case MLS_NONE:
      return IValue();
    case MLS_DEFAULT:
      if (!arg.default_value()) bad_arg(schema, arg, "has no default and must be given");
      return *arg.default_value();
    case MLS_TENSOR:
      if (v.v.ptr == nullptr) return IValue();  // an undefined optional tensor
      return IValue(mls::T(v.v.ptr));
    case MLS_INT:
      if (kind == TypeKind::FloatType) return IValue(static_cast<double>(v.v.i));
      if (kind == TypeKind::BoolType) return IValue(v.v.i != 0);
      if (kind == TypeKind::ListType) {
        // A single int for int[N] is broadcast, as TorchScript does (kernel_size=3).
        size_t n = arg.N() ? *arg.N() : 1;
        return IValue(std::vector<int64_t>(n, v.v.i));
      }
      return IValue(v.v.i);
    case MLS_DOUBLE:
      if (kind == TypeKind::IntType || kind == TypeKind::SymIntType)
        bad_arg(schema, arg, "expects an integer, got a floating-point value");
      if (kind == TypeKind::ListType) {
        size_t n = arg.N() ? *arg.N() : 1;
        return IValue(std::vector<double>(n, v.v.d));
      }
      return IValue(v.v.d);
    case MLS_BOOL:
      return IValue(v.v.i != 0);
    case MLS_INT_LIST: {
      const int64_t* p = int_data(v);
      if (kind == TypeKind::ListType &&
          type->expectRef<c10::ListType>().getElementType()->kind() == TypeKind::FloatType)
        return IValue(std::vector<double>(p, p + v.len));
      return IValue(std::vector<int64_t>(p, p + v.len));
    }
    case MLS_DOUBLE_LIST: {
      const double* p = static_cast<const double*>(v.v.ptr);
      return IValue(std::vector<double>(p, p + v.len));
    }
    case MLS_BOOL_LIST: {
      const int64_t* p = int_data(v);
      c10::List<bool> list;
      list.reserve(v.len);
      for (int i = 0; i < v.len; i++) list.push_back(p[i] != 0);
      return IValue(std::move(list));
    }
    case MLS_TENSOR_LIST: {
      void* const* handles = static_cast<void* const*>(v.v.ptr);
      bool optional_elements =
          kind == TypeKind::ListType &&
          type->expectRef<c10::ListType>().getElementType()->kind() == TypeKind::OptionalType;
      if (optional_elements) {  // Tensor?[] (e.g. index): null entries are None
        c10::List<c10::optional<at::Tensor>> list;
        list.reserve(v.len);
        for (int i = 0; i < v.len; i++)
          list.push_back(handles[i] ? c10::optional<at::Tensor>(mls::T(handles[i])) : c10::nullopt);
        return IValue(std::move(list));
      }
      std::vector<at::Tensor> list;
      list.reserve(v.len);
      for (int i = 0; i < v.len; i++) {
        if (!handles[i]) bad_arg(schema, arg, "element " + std::to_string(i) + " is null");
        list.push_back(mls::T(handles[i]));
      }
      return IValue(std::move(list));
    }
    case MLS_STRING:
      return IValue(std::string(static_cast<const char*>(v.v.ptr), v.len));
    case MLS_DEVICE:
      return IValue(mls::make_device(static_cast<int>(v.v.i), v.len));
    default:
      bad_arg(schema, arg, "unknown value tag " + std::to_string(v.tag));
  }
}

int64_t* malloc_ints(size_t n) { return static_cast<int64_t*>(std::malloc(std::max<size_t>(n, 1) * sizeof(int64_t))); }

// Writes one IValue (tuples flattened) into out; returns the new count.
int write_result(const IValue& value, mls_value* out, int cap, int n) {
  if (value.isTuple()) {
    for (const auto& e : value.toTupleRef().elements()) n = write_result(e, out, cap, n);
    return n;
  }
  if (n >= cap) throw std::runtime_error("operator returned more than " + std::to_string(cap) + " values");
  mls_value& r = out[n];
  std::memset(&r, 0, sizeof(r));
  if (value.isTensor()) {
    const at::Tensor& t = value.toTensor();
    r.tag = MLS_TENSOR;
    r.v.ptr = t.defined() ? mls::new_handle(t) : nullptr;
  } else if (value.isTensorList()) {
    auto list = value.toTensorVector();
    r.tag = MLS_TENSOR_LIST;
    r.len = static_cast<int32_t>(list.size());
    auto handles = static_cast<void**>(std::malloc(std::max<size_t>(list.size(), 1) * sizeof(void*)));
    for (size_t i = 0; i < list.size(); i++) handles[i] = list[i].defined() ? mls::new_handle(list[i]) : nullptr;
    r.v.ptr = handles;
  } else if (value.isInt()) {
    r.tag = MLS_INT;
    r.v.i = value.toInt();
  } else if (value.isDouble()) {
    r.tag = MLS_DOUBLE;
    r.v.d = value.toDouble();
  } else if (value.isBool()) {
    r.tag = MLS_BOOL;
    r.v.i = value.toBool();
  } else if (value.isIntList()) {
    auto list = value.toIntVector();
    r.tag = MLS_INT_LIST;
    r.len = static_cast<int32_t>(list.size());
    int64_t* p = malloc_ints(list.size());
    std::copy(list.begin(), list.end(), p);
    r.v.ptr = p;
  } else if (value.isNone()) {
    r.tag = MLS_NONE;
  } else if (value.isScalar()) {
    auto s = value.toScalar();
    if (s.isFloatingPoint()) {
      r.tag = MLS_DOUBLE;
      r.v.d = s.toDouble();
    } else {
      r.tag = MLS_INT;
      r.v.i = s.toLong();
    }
  } else {
    throw std::runtime_error("unsupported result type " + value.tagKind());
  }
  return n + 1;
}

}  // namespace

extern "C" {

mls_op mls_find_op(const char* name, const char* overload) {
  MLS_GUARD(nullptr, {
    auto op = c10::Dispatcher::singleton().findSchema({name, overload ? overload : ""});
    if (!op) {
      mls::set_error(std::string("no operator ") + name + (overload && *overload ? "." : "") +
                     (overload ? overload : "") + " is registered");
      return nullptr;
    }
    return new c10::OperatorHandle(*op);  // cached by the caller for the process lifetime
  })
}

char* mls_op_schema(mls_op op) {
  MLS_GUARD(nullptr, {
    std::ostringstream s;
    s << static_cast<c10::OperatorHandle*>(op)->schema();
    return strdup(s.str().c_str());
  })
}

char* mls_all_schemas(void) {
  MLS_GUARD(nullptr, {
    std::ostringstream s;
    for (const auto& name : c10::Dispatcher::singleton().getAllOpNames()) {
      auto op = c10::Dispatcher::singleton().findSchema(name);
      if (op) s << op->schema() << '\n';
    }
    return strdup(s.str().c_str());
  })
}

int mls_call_op(mls_op op, const mls_value* args, int nargs, mls_value* out, int cap, int* nout) {
  MLS_GUARD(-1, {
    auto& handle = *static_cast<c10::OperatorHandle*>(op);
    const auto& schema = handle.schema();
    const auto& formals = schema.arguments();
    if (nargs > static_cast<int>(formals.size()))
      throw std::invalid_argument(schema.operator_name().name + " takes " +
                                  std::to_string(formals.size()) + " arguments, got " +
                                  std::to_string(nargs));
    torch::jit::Stack stack;
    stack.reserve(formals.size());
    for (size_t i = 0; i < formals.size(); i++) {
      if (static_cast<int>(i) < nargs) {
        stack.push_back(to_ivalue(schema, formals[i], args[i]));
      } else if (formals[i].default_value()) {
        stack.push_back(*formals[i].default_value());
      } else {
        bad_arg(schema, formals[i], "has no default and must be given");
      }
    }
    handle.callBoxed(&stack);
    int n = 0;
    for (const auto& value : stack) n = write_result(value, out, cap, n);
    *nout = n;
    return 0;
  })
}

}  // extern "C"
