using System.Runtime.InteropServices;
using System.Text;
using MLNetSeg.Torch.Native;

namespace MLNetSeg.Torch.Tests;

/// <summary>
/// A shim that cannot be loaded because a system library is missing fails with the loader's
/// own words and the Debian packages to install; a slow BLAS is reported once with the fix.
/// </summary>
[TestClass]
public sealed class NativePrerequisitesTests
{
    [TestMethod]
    public void TheMessageNamesThePackagesOfTheLibrariesThatDoNotLoad()
    {
        var absent = new HashSet<string> { "libtorch_cpu.so.1.13", "libc10.so.1.13", "libopencv_core.so.406" };
        var message = NativePrerequisites.Describe("/app/libmlnetseg_native.so", "libtorch_cpu.so.1.13: cannot open shared object file",
            library => !absent.Contains(library));
        StringAssert.Contains(message, "/app/libmlnetseg_native.so");
        StringAssert.Contains(message, "libtorch_cpu.so.1.13: cannot open shared object file");
        StringAssert.Contains(message, "sudo apt-get install libtorch1.13 libopencv-core406\n");
        StringAssert.Contains(message, "Missing system libraries: libtorch_cpu.so.1.13, libc10.so.1.13, libopencv_core.so.406.");
    }

    /// <summary>A real loader failure: a copy of our shim whose libtorch dependency is renamed to one no system has.</summary>
    [TestMethod]
    public void AShimWhoseDependencyIsMissingFailsWithTheLoadersErrorAndTheAptCommand()
    {
        var shim = Path.Combine(AppContext.BaseDirectory, "libmlnetseg_native.so");
        Assert.IsTrue(File.Exists(shim), $"the build copies the shim next to the tests: {shim}");
        var bytes = File.ReadAllBytes(shim);
        int replaced = Replace(bytes, "libtorch_cpu.so.1.13", "libtorch_cpx.so.1.13");
        Assert.IsTrue(replaced > 0, "the shim names libtorch_cpu.so.1.13 among its dependencies");
        var dir = Directory.CreateTempSubdirectory("mlnetseg-shim-");
        try
        {
            var patched = Path.Combine(dir.FullName, "libmlnetseg_native.so");
            File.WriteAllBytes(patched, bytes);
            var e = Assert.ThrowsException<DllNotFoundException>(() => NativeLibraryResolver.Load(patched));
            StringAssert.Contains(e.Message, "libtorch_cpx.so.1.13", "the loader's own words name the missing library");
            StringAssert.Contains(e.Message, patched);
            StringAssert.Contains(e.Message, "sudo apt-get install libtorch1.13 libopencv-core406 libopencv-imgproc406 libopencv-imgcodecs406 libopenblas0-pthread");
        }
        finally { dir.Delete(recursive: true); }
    }

    [TestMethod]
    public void OnlyLinuxX64IsSupportedAndOtherPlatformsAreToldSo()
    {
        Assert.IsNull(NativePrerequisites.UnsupportedPlatform(true, Architecture.X64, "linux-x64"));
        Assert.IsNull(NativePrerequisites.UnsupportedPlatform(OperatingSystem.IsLinux(), RuntimeInformation.ProcessArchitecture, "this machine"));
        StringAssert.Contains(NativePrerequisites.UnsupportedPlatform(false, Architecture.X64, "win-x64"), "this process runs on win-x64");
        StringAssert.Contains(NativePrerequisites.UnsupportedPlatform(true, Architecture.Arm64, "linux-arm64"), "built for Linux x64");
    }

    [TestMethod]
    public void AReferenceBlasIsReportedWithTheFixAndOpenBlasIsNot()
    {
        var to = new StringWriter();
        Assert.IsNull(TorchRuntime.WarnUnlessOpenBlas("OpenBLAS 0.3.21 NO_AFFINITY [libblas.so.3]", to));
        Assert.AreEqual("", to.ToString());
        var message = TorchRuntime.WarnUnlessOpenBlas("reference BLAS (slow; install libopenblas0-pthread)", to);
        Assert.IsNotNull(message);
        StringAssert.Contains(to.ToString(), "apt-get install libopenblas0-pthread");
        StringAssert.Contains(to.ToString(), "update-alternatives --set libblas.so.3-x86_64-linux-gnu");
        StringAssert.StartsWith(TorchRuntime.BlasInfo, "OpenBLAS", "this machine's setup selects OpenBLAS");
    }

    private static int Replace(byte[] haystack, string from, string to)
    {
        byte[] a = Encoding.ASCII.GetBytes(from), b = Encoding.ASCII.GetBytes(to);
        int count = 0;
        for (int i = 0; i + a.Length <= haystack.Length; i++)
            if (haystack.AsSpan(i, a.Length).SequenceEqual(a)) { b.CopyTo(haystack, i); count++; }
        return count;
    }
}
