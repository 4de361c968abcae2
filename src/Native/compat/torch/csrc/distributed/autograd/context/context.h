#pragma once
// Debian's libtorch-dev 1.13 ships c10d/reducer.hpp, which includes this RPC-autograd header, but
// not the header itself (nor the RPC headers it pulls in). The Reducer names only two types from
// it, both by pointer or std::function, so their declarations are all it needs; they are the ones
// of torch 1.13's context.h (the class layout of Reducer does not depend on the class's body).
#include <ATen/core/Tensor.h>
#include <functional>
#include <memory>

namespace torch {
namespace distributed {
namespace autograd {
class DistAutogradContext {
 public:
  using GradCallback = std::function<bool(at::Tensor&)>;
};
using ContextPtr = std::shared_ptr<DistAutogradContext>;
}  // namespace autograd
}  // namespace distributed
}  // namespace torch
