global using Microsoft.VisualStudio.TestTools.UnitTesting;

// Model tests share the process-wide libtorch thread pool; run classes one at a time.
[assembly: Parallelize(Workers = 1, Scope = ExecutionScope.ClassLevel)]
