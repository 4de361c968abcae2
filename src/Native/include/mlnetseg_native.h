// C ABI of the MLNetSeg native engine. Every function catches C++ exceptions and reports
// failure through its return value (nonzero int or NULL pointer); the message is then in
// mls_last_error(), which is per thread.
#pragma once
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MLS_API __attribute__((visibility("default")))

typedef void* mls_tensor;  // owning pointer to an at::Tensor
typedef void* mls_op;      // pointer to a c10::OperatorHandle (never freed; cached)

// A boxed argument or result. Lists of up to MLS_INLINE ints live inline (no pinning);
// longer lists and tensor lists use ptr.
#define MLS_INLINE 8
enum mls_tag {
  MLS_NONE = 0, MLS_TENSOR = 1, MLS_INT = 2, MLS_DOUBLE = 3, MLS_BOOL = 4,
  MLS_INT_LIST = 5, MLS_DOUBLE_LIST = 6, MLS_TENSOR_LIST = 7, MLS_STRING = 8,
  MLS_BOOL_LIST = 9, MLS_DEFAULT = 10, MLS_DEVICE = 11
};
typedef struct mls_value {
  int32_t tag;
  int32_t len;   // list length; for MLS_DEVICE the device index
  union { void* ptr; int64_t i; double d; } v;  // for MLS_DEVICE, v.i is the device type
  int64_t inl[MLS_INLINE];
} mls_value;

MLS_API const char* mls_last_error(void);
MLS_API void mls_free(void* p);

// ---- runtime
MLS_API const char* mls_version(void);
MLS_API int mls_set_num_threads(int n);
MLS_API int mls_get_num_threads(void);
MLS_API const char* mls_blas_info(void);
MLS_API int mls_manual_seed(uint64_t seed);
MLS_API mls_tensor mls_get_rng_state(int device_type, int device_index);
MLS_API int mls_set_rng_state(int device_type, int device_index, mls_tensor state);
MLS_API int mls_cuda_device_count(void);
MLS_API int mls_load_library(const char* path);
MLS_API int mls_grad_enabled(void);
MLS_API int mls_set_grad_enabled(int enabled);  // returns the previous state
// Mixed precision for the calling thread (torch.autocast): device_type CPU (0) or CUDA (1), dtype
// bfloat16 (15) or float16 (5); the previous setting is written to the two out-parameters.
MLS_API int mls_autocast_set(int device_type, int enabled, int dtype, int* previous_enabled, int* previous_dtype);

// ---- tensors
MLS_API void mls_tensor_free(mls_tensor t);
MLS_API mls_tensor mls_tensor_from_data(const void* data, const int64_t* shape, int ndim,
                                        int dtype, int device_type, int device_index);
MLS_API int mls_tensor_copy_out(mls_tensor t, void* dst, int64_t nbytes);
MLS_API void* mls_tensor_data_ptr(mls_tensor t);  // CPU tensors only
MLS_API int mls_tensor_ndim(mls_tensor t);
MLS_API int mls_tensor_sizes(mls_tensor t, int64_t* out, int cap);
MLS_API int mls_tensor_strides(mls_tensor t, int64_t* out, int cap);
MLS_API int mls_tensor_dtype(mls_tensor t);
MLS_API int mls_tensor_device(mls_tensor t, int* device_type, int* device_index);
MLS_API int64_t mls_tensor_numel(mls_tensor t);
MLS_API int mls_tensor_is_contiguous(mls_tensor t);
MLS_API int mls_tensor_item(mls_tensor t, double* as_double, int64_t* as_int);
MLS_API mls_tensor mls_tensor_alias(mls_tensor t);  // a new handle to the same tensor

// ---- autograd
MLS_API int mls_tensor_requires_grad(mls_tensor t);
MLS_API int mls_tensor_set_requires_grad(mls_tensor t, int requires_grad);
MLS_API int mls_tensor_is_leaf(mls_tensor t);
MLS_API mls_tensor mls_tensor_grad(mls_tensor t);  // NULL with empty error when undefined
MLS_API int mls_tensor_set_grad(mls_tensor t, mls_tensor grad);  // grad NULL clears
MLS_API int mls_tensor_retain_grad(mls_tensor t);
MLS_API int mls_backward(mls_tensor t, mls_tensor grad, int retain_graph, int create_graph);

// ---- operator dispatch
MLS_API mls_op mls_find_op(const char* name, const char* overload);
MLS_API char* mls_op_schema(mls_op op);   // free with mls_free
MLS_API char* mls_all_schemas(void);      // '\n'-separated; free with mls_free
// Calls op with nargs positional arguments (the rest take schema defaults). Results are
// written to out (capacity cap); *nout receives the count (tuples are flattened). Tensor
// results are new handles; list results own a malloc'd ptr (free with mls_free).
MLS_API int mls_call_op(mls_op op, const mls_value* args, int nargs, mls_value* out, int cap,
                        int* nout);

// ---- images (OpenCV). Pixels are HWC uint8, RGB(A) order.
MLS_API int mls_image_decode(const uint8_t* bytes, int64_t nbytes, int flags, uint8_t** pixels,
                             int* height, int* width, int* channels);
MLS_API int mls_image_encode_png(const uint8_t* pixels, int height, int width, int channels,
                                 uint8_t** out, int64_t* nbytes);
MLS_API int mls_image_resize(const uint8_t* src, int height, int width, int channels,
                             uint8_t* dst, int out_height, int out_width, int interpolation);

// ---- distributed data parallel (c10d: TCPStore/FileStore rendezvous, ProcessGroupGloo, the DDP
// Reducer). mls_dist_available() is 0 when the library was built without c10d; every other call
// then fails with a message saying so. Collectives wait for completion; a peer that died or a
// timeout becomes an error return.
typedef void* mls_store;
typedef void* mls_process_group;
typedef void* mls_reducer;
MLS_API int mls_dist_available(void);
MLS_API mls_store mls_dist_tcp_store(const char* host, int port, int world_size, int is_server,
                                     int64_t timeout_ms);
MLS_API mls_store mls_dist_file_store(const char* path, int world_size);
MLS_API void mls_dist_store_free(mls_store store);
// device: "host:NAME" (the address NAME resolves to), "interface:NAME", or "" (this host's name).
MLS_API mls_process_group mls_dist_gloo(mls_store store, int rank, int world_size, const char* device,
                                        int64_t timeout_ms);
MLS_API void mls_dist_process_group_free(mls_process_group group);
// op: 0 sum, 1 product, 2 min, 3 max.
MLS_API int mls_dist_allreduce(mls_process_group group, const mls_tensor* tensors, int n, int op);
MLS_API int mls_dist_broadcast(mls_process_group group, const mls_tensor* tensors, int n, int root);
MLS_API int mls_dist_barrier(mls_process_group group);
// The reducer averages the gradients of params over the group during backward, in buckets
// (DDP's bucketing: first bucket 1 MiB, then bucket_cap_bytes), after checking every rank has
// the same parameter shapes and broadcasting rank 0's values.
MLS_API mls_reducer mls_dist_reducer_new(mls_process_group group, const mls_tensor* params, int n,
                                         int64_t bucket_cap_bytes, int find_unused_parameters);
MLS_API int mls_dist_reducer_prepare_for_forward(mls_reducer reducer);
MLS_API int mls_dist_reducer_prepare_for_backward(mls_reducer reducer, const mls_tensor* outputs, int n);
MLS_API void mls_dist_reducer_free(mls_reducer reducer);

#ifdef __cplusplus
}
#endif
