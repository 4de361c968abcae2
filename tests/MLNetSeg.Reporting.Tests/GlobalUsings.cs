global using Microsoft.VisualStudio.TestTools.UnitTesting;
global using MLNetSeg.Tests.Shared;

// Training tests share libtorch's process-wide thread pool and RNG; run classes one at a time.
[assembly: Parallelize(Workers = 1, Scope = ExecutionScope.ClassLevel)]
