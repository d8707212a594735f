global using Microsoft.VisualStudio.TestTools.UnitTesting;

// Sequential: TorchSharp's random generator (weight init, dropout) is process-wide, so two trainings running at once
// would reseed each other and no test would see a reproducible run.
[assembly: DoNotParallelize]
