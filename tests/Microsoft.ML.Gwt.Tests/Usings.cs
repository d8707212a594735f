global using Microsoft.VisualStudio.TestTools.UnitTesting;

// Sequential: several tests count process-wide things (threads, tensors, cursors) and the machines have few cores. Two
// trainings at once are reproducible (they take turns on TorchSharp's process-wide generator: ConcurrentFitTests).
[assembly: DoNotParallelize]
