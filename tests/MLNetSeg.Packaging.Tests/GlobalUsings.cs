global using Microsoft.VisualStudio.TestTools.UnitTesting;

// The components share libtorch's process-wide thread pool; run classes one at a time.
[assembly: Parallelize(Workers = 1, Scope = ExecutionScope.ClassLevel)]
