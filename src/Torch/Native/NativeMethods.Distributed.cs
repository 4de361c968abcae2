using System.Runtime.InteropServices;

namespace MLNetSeg.Torch.Native;

// c10d: rendezvous stores, the Gloo process group, DDP's reducer (src/Native/src/distributed.cpp).
internal static unsafe partial class NativeMethods
{
    [LibraryImport(Lib)] internal static partial int mls_dist_available();
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)] internal static partial IntPtr mls_dist_tcp_store(string host, int port, int worldSize, int isServer, long timeoutMs);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)] internal static partial IntPtr mls_dist_file_store(string path, int worldSize);
    [LibraryImport(Lib)] internal static partial void mls_dist_store_free(IntPtr store);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)] internal static partial IntPtr mls_dist_gloo(IntPtr store, int rank, int worldSize, string device, long timeoutMs);
    [LibraryImport(Lib)] internal static partial void mls_dist_process_group_free(IntPtr group);
    [LibraryImport(Lib)] internal static partial int mls_dist_allreduce(IntPtr group, IntPtr* tensors, int n, int op);
    [LibraryImport(Lib)] internal static partial int mls_dist_broadcast(IntPtr group, IntPtr* tensors, int n, int root);
    [LibraryImport(Lib)] internal static partial int mls_dist_barrier(IntPtr group);
    [LibraryImport(Lib)] internal static partial IntPtr mls_dist_reducer_new(IntPtr group, IntPtr* parameters, int n, long bucketCapBytes, int findUnusedParameters);
    [LibraryImport(Lib)] internal static partial int mls_dist_reducer_prepare_for_forward(IntPtr reducer);
    [LibraryImport(Lib)] internal static partial int mls_dist_reducer_prepare_for_backward(IntPtr reducer, IntPtr* outputs, int n);
    [LibraryImport(Lib)] internal static partial void mls_dist_reducer_free(IntPtr reducer);
}
