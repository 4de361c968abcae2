#pragma once
#include <ATen/ATen.h>

namespace mls {
// A handle is a heap-allocated at::Tensor: it owns one reference to the TensorImpl.
inline at::Tensor& T(void* h) { return *static_cast<at::Tensor*>(h); }
inline void* new_handle(at::Tensor t) { return new at::Tensor(std::move(t)); }
inline c10::Device make_device(int type, int index) {
  return c10::Device(static_cast<c10::DeviceType>(type), static_cast<c10::DeviceIndex>(index));
}
}  // namespace mls
