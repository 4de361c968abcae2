#include <dlfcn.h>

#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>
#include <ATen/core/Generator.h>
#include <c10/core/GradMode.h>
#include <c10/core/impl/DeviceGuardImplInterface.h>

#include <mutex>
#include <string>

#include "errors.h"
#include "handles.h"
#include "mlnetseg_native.h"

namespace {
// CUDA devices through the device-guard registry (filled by libc10_cuda when a CUDA libtorch is
// loaded): the same call in libtorch 1.13 and 2.x, unlike the CUDA hooks' renamed getNumGPUs.
int cuda_device_count() {
  return c10::impl::hasDeviceGuardImpl(c10::kCUDA) ? c10::impl::getDeviceGuardImpl(c10::kCUDA)->deviceCount() : 0;
}

std::string version_string() {
  std::string v = "libtorch";
#ifdef TORCH_VERSION
  v += " " TORCH_VERSION;
#endif
  v += std::string(" (") + (cuda_device_count() > 0 ? "CUDA" : "CPU") + ")";
  return v;
}

at::Generator default_generator(int device_type, int device_index) {
  auto device = mls::make_device(device_type, device_index);
  if (device.is_cpu()) return at::detail::getDefaultCPUGenerator();
  return at::globalContext().defaultGenerator(device);
}
}  // namespace

extern "C" {

const char* mls_version(void) {
  static const std::string v = version_string();
  return v.c_str();
}

int mls_set_num_threads(int n) {
  MLS_GUARD(-1, {
    if (n < 1) {
      mls::set_error("thread count must be at least 1, got " + std::to_string(n));
      return -1;
    }
    at::set_num_threads(n);
    // libtorch sizes OpenMP; OpenBLAS (pthreads build) keeps its own pool.
    using set_fn = void (*)(int);
    if (auto f = reinterpret_cast<set_fn>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) f(n);
    return 0;
  })
}

int mls_get_num_threads(void) {
  MLS_GUARD(-1, return at::get_num_threads();)
}

const char* mls_blas_info(void) {
  // Which BLAS the loader bound: OpenBLAS exports openblas_get_config; the reference BLAS
  // (Debian's default libblas, ~5x slower) does not.
  static thread_local std::string info;
  using cfg_fn = const char* (*)();
  if (auto f = reinterpret_cast<cfg_fn>(dlsym(RTLD_DEFAULT, "openblas_get_config"))) {
    info = std::string("OpenBLAS ") + f();
  } else {
    info = "reference BLAS (slow; install libopenblas0-pthread)";
  }
  Dl_info where;
  if (void* sgemm = dlsym(RTLD_DEFAULT, "sgemm_"); sgemm && dladdr(sgemm, &where) && where.dli_fname)
    info += std::string(" [") + where.dli_fname + "]";
  return info.c_str();
}

int mls_manual_seed(uint64_t seed) {
  MLS_GUARD(-1, {
    {
      auto gen = at::detail::getDefaultCPUGenerator();
      std::lock_guard<std::mutex> lock(gen.mutex());
      gen.set_current_seed(seed);
    }
    int gpus = cuda_device_count();
    for (int i = 0; i < gpus; i++) {
      auto gen = at::globalContext().defaultGenerator(c10::Device(c10::kCUDA, i));
      std::lock_guard<std::mutex> lock(gen.mutex());
      gen.set_current_seed(seed);
    }
    return 0;
  })
}

mls_tensor mls_get_rng_state(int device_type, int device_index) {
  MLS_GUARD(nullptr, {
    auto gen = default_generator(device_type, device_index);
    std::lock_guard<std::mutex> lock(gen.mutex());
    return mls::new_handle(gen.get_state());
  })
}

int mls_set_rng_state(int device_type, int device_index, mls_tensor state) {
  MLS_CHECK_HANDLE(state, -1);
  MLS_GUARD(-1, {
    auto gen = default_generator(device_type, device_index);
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(mls::T(state));
    return 0;
  })
}

int mls_cuda_device_count(void) {
  MLS_GUARD(-1, return cuda_device_count();)
}

int mls_load_library(const char* path) {
  // RTLD_GLOBAL so that operator libraries (e.g. torchvision's _C) register their kernels
  // with the dispatcher and can resolve libtorch symbols.
  if (dlopen(path, RTLD_NOW | RTLD_GLOBAL) == nullptr) {
    const char* err = dlerror();
    mls::set_error(std::string("cannot load ") + path + ": " + (err ? err : "unknown error"));
    return -1;
  }
  return 0;
}

int mls_grad_enabled(void) { return c10::GradMode::is_enabled() ? 1 : 0; }

int mls_autocast_set(int device_type, int enabled, int dtype, int* previous_enabled, int* previous_dtype) {
  MLS_GUARD(-1, {
    auto type = static_cast<c10::DeviceType>(device_type);
    TORCH_CHECK(type == c10::kCPU || type == c10::kCUDA, "autocast is for CPU or CUDA, not device type ", device_type);
    auto scalar = static_cast<at::ScalarType>(dtype);
    TORCH_CHECK(scalar == at::kBFloat16 || scalar == at::kHalf, "autocast computes in bfloat16 or float16, not ", c10::toString(scalar));
#ifdef AT_FORALL_DEPRECATED_AUTOCAST_BACKENDS
    // libtorch >= 2.4: one API for every device type (the per-device functions below are deprecated there).
    *previous_enabled = at::autocast::is_autocast_enabled(type) ? 1 : 0;
    *previous_dtype = static_cast<int>(at::autocast::get_autocast_dtype(type));
    at::autocast::set_autocast_dtype(type, scalar);
    at::autocast::set_autocast_enabled(type, enabled != 0);
#else
    bool cpu = type == c10::kCPU;
    *previous_enabled = (cpu ? at::autocast::is_cpu_enabled() : at::autocast::is_enabled()) ? 1 : 0;
    *previous_dtype = static_cast<int>(cpu ? at::autocast::get_autocast_cpu_dtype() : at::autocast::get_autocast_gpu_dtype());
    if (cpu) {
      at::autocast::set_autocast_cpu_dtype(scalar);
      at::autocast::set_cpu_enabled(enabled != 0);
    } else {
      at::autocast::set_autocast_gpu_dtype(scalar);
      at::autocast::set_enabled(enabled != 0);
    }
#endif
    // torch.autocast's __exit__: the casts of weights it cached are dropped when the outermost region ends.
    if (enabled == 0) at::autocast::clear_cache();
    return 0;
  })
}

int mls_set_grad_enabled(int enabled) {
  bool previous = c10::GradMode::is_enabled();
  c10::GradMode::set_enabled(enabled != 0);
  return previous ? 1 : 0;
}

}  // extern "C"
