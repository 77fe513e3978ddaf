// magcnn-bench: Google Benchmark's flags; every group registered here.
#include <benchmark/benchmark.h>

#include "registry.h"

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  magcnn::bench::register_peak_benchmarks();
  magcnn::bench::register_forward_benchmarks();
  magcnn::bench::register_network_benchmarks();
  magcnn::bench::register_element_benchmarks();
  magcnn::bench::register_inference_benchmarks();
  magcnn::bench::register_accuracy_benchmarks();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
