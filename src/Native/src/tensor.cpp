#include <cstring>

#include "errors.h"
#include "handles.h"
#include "mlnetseg_native.h"

using mls::T;

extern "C" {

void mls_tensor_free(mls_tensor t) { delete static_cast<at::Tensor*>(t); }

mls_tensor mls_tensor_alias(mls_tensor t) {
  MLS_CHECK_HANDLE(t, nullptr);
  MLS_GUARD(nullptr, return mls::new_handle(T(t));)
}

mls_tensor mls_tensor_from_data(const void* data, const int64_t* shape, int ndim, int dtype,
                                int device_type, int device_index) {
  MLS_GUARD(nullptr, {
    auto options = at::TensorOptions().dtype(static_cast<at::ScalarType>(dtype));
    at::Tensor t = at::empty(at::IntArrayRef(shape, ndim), options);
    if (t.numel() > 0) std::memcpy(t.data_ptr(), data, t.nbytes());
    auto device = mls::make_device(device_type, device_index);
    if (!device.is_cpu()) t = t.to(device);
    return mls::new_handle(std::move(t));
  })
}

int mls_tensor_copy_out(mls_tensor t, void* dst, int64_t nbytes) {
  MLS_CHECK_HANDLE(t, -1);
  MLS_GUARD(-1, {
    at::Tensor c = T(t).detach().to(at::kCPU).contiguous();
    if (static_cast<int64_t>(c.nbytes()) != nbytes) {
      mls::set_error("copy_out: destination holds " + std::to_string(nbytes) +
                     " bytes but the tensor has " + std::to_string(c.nbytes()));
      return -1;
    }
    if (nbytes > 0) std::memcpy(dst, c.data_ptr(), nbytes);
    return 0;
  })
}

void* mls_tensor_data_ptr(mls_tensor t) {
  MLS_CHECK_HANDLE(t, nullptr);
  MLS_GUARD(nullptr, {
    if (!T(t).device().is_cpu()) {
      mls::set_error("data_ptr: tensor is not on the CPU");
      return nullptr;
    }
    return T(t).data_ptr();
  })
}

int mls_tensor_ndim(mls_tensor t) {
  MLS_CHECK_HANDLE(t, -1);
  MLS_GUARD(-1, return static_cast<int>(T(t).dim());)
}

int mls_tensor_sizes(mls_tensor t, int64_t* out, int cap) {
  MLS_CHECK_HANDLE(t, -1);
  MLS_GUARD(-1, {
    auto s = T(t).sizes();
    int n = static_cast<int>(s.size());
    for (int i = 0; i < n && i < cap; i++) out[i] = s[i];
    return n;
  })
}

int mls_tensor_strides(mls_tensor t, int64_t* out, int cap) {
  MLS_CHECK_HANDLE(t, -1);
  MLS_GUARD(-1, {
    auto s = T(t).strides();
    int n = static_cast<int>(s.size());
    for (int i = 0; i < n && i < cap; i++) out[i] = s[i];
    return n;
  })
}

int mls_tensor_dtype(mls_tensor t) {
  MLS_CHECK_HANDLE(t, -1);
  MLS_GUARD(-1, return static_cast<int>(T(t).scalar_type());)
}

int mls_tensor_device(mls_tensor t, int* device_type, int* device_index) {
  MLS_CHECK_HANDLE(t, -1);
  MLS_GUARD(-1, {
    auto d = T(t).device();
    *device_type = static_cast<int>(d.type());
    *device_index = d.has_index() ? d.index() : -1;
    return 0;
  })
}

int64_t mls_tensor_numel(mls_tensor t) {
  MLS_CHECK_HANDLE(t, -1);
  MLS_GUARD(-1, return T(t).numel();)
}

int mls_tensor_is_contiguous(mls_tensor t) {
  MLS_CHECK_HANDLE(t, -1);
  MLS_GUARD(-1, return T(t).is_contiguous() ? 1 : 0;)
}

int mls_tensor_item(mls_tensor t, double* as_double, int64_t* as_int) {
  MLS_CHECK_HANDLE(t, -1);
  MLS_GUARD(-1, {
    at::Scalar s = T(t).item();
    if (s.isIntegral(/*includeBool=*/true)) {
      *as_int = s.toLong();
      *as_double = static_cast<double>(*as_int);
    } else {
      *as_double = s.toDouble();
      *as_int = static_cast<int64_t>(*as_double);
    }
    return 0;
  })
}

// ---- autograd

int mls_tensor_requires_grad(mls_tensor t) {
  MLS_CHECK_HANDLE(t, -1);
  MLS_GUARD(-1, return T(t).requires_grad() ? 1 : 0;)
}

int mls_tensor_set_requires_grad(mls_tensor t, int requires_grad) {
  MLS_CHECK_HANDLE(t, -1);
  MLS_GUARD(-1, {
    T(t).set_requires_grad(requires_grad != 0);
    return 0;
  })
}

int mls_tensor_is_leaf(mls_tensor t) {
  MLS_CHECK_HANDLE(t, -1);
  MLS_GUARD(-1, return T(t).is_leaf() ? 1 : 0;)
}

mls_tensor mls_tensor_grad(mls_tensor t) {
  MLS_CHECK_HANDLE(t, nullptr);
  MLS_GUARD(nullptr, {
    mls::clear_error();
    const at::Tensor& g = T(t).grad();
    return g.defined() ? mls::new_handle(g) : nullptr;
  })
}

int mls_tensor_set_grad(mls_tensor t, mls_tensor grad) {
  MLS_CHECK_HANDLE(t, -1);
  MLS_GUARD(-1, {
    if (grad == nullptr)
      T(t).mutable_grad().reset();
    else
      T(t).mutable_grad() = T(grad);
    return 0;
  })
}

int mls_tensor_retain_grad(mls_tensor t) {
  MLS_CHECK_HANDLE(t, -1);
  MLS_GUARD(-1, {
    T(t).retain_grad();
    return 0;
  })
}

int mls_backward(mls_tensor t, mls_tensor grad, int retain_graph, int create_graph) {
  MLS_CHECK_HANDLE(t, -1);
  MLS_GUARD(-1, {
    at::Tensor g = grad ? T(grad) : at::Tensor();
    T(t).backward(g, c10::optional<bool>(retain_graph != 0), create_graph != 0);
    return 0;
  })
}

}  // extern "C"
