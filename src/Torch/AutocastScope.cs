using MLNetSeg.Torch.Native;

namespace MLNetSeg.Torch;

/// <summary>
/// Mixed precision on this thread until disposed (torch.autocast): libtorch runs the operations its
/// autocast lists name (convolutions, matrix products, ...) in <see cref="DType.BFloat16"/> or
/// <see cref="DType.Float16"/> and keeps the precision-sensitive ones (reductions, losses, softmax) in
/// float32. Weights stay float32. <c>using (AutocastScope.Enter(Device.Cpu, DType.BFloat16)) { ... }</c>;
/// scopes nest, each restoring the previous setting. Dispose on the thread that entered.
/// </summary>
public readonly struct AutocastScope : IDisposable
{
    private readonly DeviceType _device;
    private readonly int _previousEnabled, _previousDtype;
    private readonly bool _entered;

    private unsafe AutocastScope(DeviceType device, bool enabled, DType dtype)
    {
        int previousEnabled, previousDtype;
        if (NativeMethods.mls_autocast_set((int)device, enabled ? 1 : 0, (int)dtype, &previousEnabled, &previousDtype) < 0)
            throw new TorchException(NativeMethods.LastError());
        _device = device;
        _previousEnabled = previousEnabled;
        _previousDtype = previousDtype;
        _entered = true;
    }

    /// <summary>Computes in <paramref name="dtype"/> (bfloat16 by default; float16 is for CUDA) on <paramref name="device"/>'s type until disposed.</summary>
    /// <exception cref="TorchException">The device type is neither CPU nor CUDA, or the dtype is neither bfloat16 nor float16.</exception>
    public static AutocastScope Enter(Device device, DType dtype = DType.BFloat16) => new(device.Type, true, dtype);

    /// <summary>Full precision inside an autocast region (torch.autocast(enabled=False)).</summary>
    public static AutocastScope Disable(Device device) => new(device.Type, false, DType.BFloat16);

    /// <summary>Restores the setting in force when the scope was entered.</summary>
    public unsafe void Dispose()
    {
        if (!_entered) return;
        int ignoredEnabled, ignoredDtype;
        NativeMethods.mls_autocast_set((int)_device, _previousEnabled, _previousDtype, &ignoredEnabled, &ignoredDtype);
    }
}
