using System.Runtime.InteropServices;

namespace MLNetSeg.Torch.Native;

/// <summary>P/Invoke surface of libmlnetseg_native (src/Native/include/mlnetseg_native.h).</summary>
internal static unsafe partial class NativeMethods
{
    internal const string Lib = "mlnetseg_native";

    static NativeMethods() => NativeLibraryResolver.Install();

    [LibraryImport(Lib)] internal static partial IntPtr mls_last_error();
    [LibraryImport(Lib)] internal static partial void mls_free(IntPtr p);

    [LibraryImport(Lib)] internal static partial IntPtr mls_version();
    [LibraryImport(Lib)] internal static partial int mls_set_num_threads(int n);
    [LibraryImport(Lib)] internal static partial int mls_get_num_threads();
    [LibraryImport(Lib)] internal static partial IntPtr mls_blas_info();
    [LibraryImport(Lib)] internal static partial int mls_manual_seed(ulong seed);
    [LibraryImport(Lib)] internal static partial IntPtr mls_get_rng_state(int deviceType, int deviceIndex);
    [LibraryImport(Lib)] internal static partial int mls_set_rng_state(int deviceType, int deviceIndex, IntPtr state);
    [LibraryImport(Lib)] internal static partial int mls_cuda_device_count();
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)] internal static partial int mls_load_library(string path);
    [LibraryImport(Lib)] internal static partial int mls_grad_enabled();
    [LibraryImport(Lib)] internal static partial int mls_set_grad_enabled(int enabled);
    [LibraryImport(Lib)] internal static partial int mls_autocast_set(int deviceType, int enabled, int dtype, int* previousEnabled, int* previousDtype);

    [LibraryImport(Lib)] internal static partial void mls_tensor_free(IntPtr t);
    [LibraryImport(Lib)] internal static partial IntPtr mls_tensor_from_data(void* data, long* shape, int ndim, int dtype, int deviceType, int deviceIndex);
    [LibraryImport(Lib)] internal static partial int mls_tensor_copy_out(IntPtr t, void* dst, long nbytes);
    [LibraryImport(Lib)] internal static partial IntPtr mls_tensor_data_ptr(IntPtr t);
    [LibraryImport(Lib)] internal static partial int mls_tensor_ndim(IntPtr t);
    [LibraryImport(Lib)] internal static partial int mls_tensor_sizes(IntPtr t, long* output, int cap);
    [LibraryImport(Lib)] internal static partial int mls_tensor_strides(IntPtr t, long* output, int cap);
    [LibraryImport(Lib)] internal static partial int mls_tensor_dtype(IntPtr t);
    [LibraryImport(Lib)] internal static partial int mls_tensor_device(IntPtr t, int* deviceType, int* deviceIndex);
    [LibraryImport(Lib)] internal static partial long mls_tensor_numel(IntPtr t);
    [LibraryImport(Lib)] internal static partial int mls_tensor_is_contiguous(IntPtr t);
    [LibraryImport(Lib)] internal static partial int mls_tensor_item(IntPtr t, double* asDouble, long* asInt);
    [LibraryImport(Lib)] internal static partial IntPtr mls_tensor_alias(IntPtr t);

    [LibraryImport(Lib)] internal static partial int mls_tensor_requires_grad(IntPtr t);
    [LibraryImport(Lib)] internal static partial int mls_tensor_set_requires_grad(IntPtr t, int requiresGrad);
    [LibraryImport(Lib)] internal static partial int mls_tensor_is_leaf(IntPtr t);
    [LibraryImport(Lib)] internal static partial IntPtr mls_tensor_grad(IntPtr t);
    [LibraryImport(Lib)] internal static partial int mls_tensor_set_grad(IntPtr t, IntPtr grad);
    [LibraryImport(Lib)] internal static partial int mls_tensor_retain_grad(IntPtr t);
    [LibraryImport(Lib)] internal static partial int mls_backward(IntPtr t, IntPtr grad, int retainGraph, int createGraph);

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)] internal static partial IntPtr mls_find_op(string name, string overload);
    [LibraryImport(Lib)] internal static partial IntPtr mls_op_schema(IntPtr op);
    [LibraryImport(Lib)] internal static partial IntPtr mls_all_schemas();
    [LibraryImport(Lib)] internal static partial int mls_call_op(IntPtr op, NativeValue* args, int nargs, NativeValue* output, int cap, int* nout);

    [LibraryImport(Lib)] internal static partial int mls_image_decode(byte* bytes, long nbytes, int flags, byte** pixels, int* height, int* width, int* channels);
    [LibraryImport(Lib)] internal static partial int mls_image_encode_png(byte* pixels, int height, int width, int channels, byte** output, long* nbytes);
    [LibraryImport(Lib)] internal static partial int mls_image_resize(byte* src, int height, int width, int channels, byte* dst, int outHeight, int outWidth, int interpolation);

    /// <summary>The per-thread message of the last failed native call.</summary>
    internal static string LastError() => Marshal.PtrToStringUTF8(mls_last_error()) ?? "";

    internal static string TakeString(IntPtr p)
    {
        if (p == IntPtr.Zero) throw new TorchException(LastError());
        try { return Marshal.PtrToStringUTF8(p) ?? ""; }
        finally { mls_free(p); }
    }

    internal static void Check(int rc)
    {
        if (rc < 0) throw new TorchException(LastError());
    }

    internal static IntPtr Check(IntPtr handle)
    {
        if (handle == IntPtr.Zero) throw new TorchException(LastError());
        return handle;
    }
}
