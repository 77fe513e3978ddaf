// The per-element operations every backend runs: each is a functor from kernels/ whose operator()(i) is the
// whole body of one element, run by an OpenMP loop on the CPU and a grid-stride kernel on the GPU.
// MAGCNN_ELEMENT_OPS lists them once; Backend declares a run() overload for each and every backend
// implements all of them, so an op added here cannot be forgotten by one backend. MAGCNN_REDUCE_OPS lists
// the reductions (kernels/reduce_ops.h) the same way, for Backend::reduce().
#pragma once

#include "kernels/cell_kernel.h"
#include "kernels/ellipse.h"
#include "kernels/forward_ops.h"
#include "kernels/network_ops.h"
#include "kernels/noise_ops.h"
#include "kernels/reduce_ops.h"

namespace magcnn::ops {

using CellKernelQuadrant = kern::CellKernelQuadrant;
template <class T>
using ProductComponent = kern::FoldedProduct<T, kern::ComponentSource<T>>;
template <class T>
using ProductCollinear = kern::FoldedProduct<T, kern::CollinearSource<T>>;

}  // namespace magcnn::ops

// X(op type) for every element operation, float and double variants separately.
#define MAGCNN_ELEMENT_OPS(X)                                                                      \
  X(::magcnn::ops::CellKernelQuadrant) X(::magcnn::kern::MirrorQuadrant)                           \
  X(::magcnn::kern::ParityPlanes<float>) X(::magcnn::kern::ParityPlanes<double>)                  \
  X(::magcnn::kern::SpectrumPlane<float>) X(::magcnn::kern::SpectrumPlane<double>)                \
  X(::magcnn::kern::TransferSpectra<float>) X(::magcnn::kern::TransferSpectra<double>)            \
  X(::magcnn::kern::AxisSpectra<float>) X(::magcnn::kern::AxisSpectra<double>)                    \
  X(::magcnn::kern::EmbedInterior<float>) X(::magcnn::kern::EmbedInterior<double>)                    \
  X(::magcnn::ops::ProductComponent<float>) X(::magcnn::ops::ProductComponent<double>)                    \
  X(::magcnn::ops::ProductCollinear<float>) X(::magcnn::ops::ProductCollinear<double>)            \
  X(::magcnn::kern::CropScale<float>) X(::magcnn::kern::CropScale<double>)                        \
  X(::magcnn::kern::InversionFilter<float>) X(::magcnn::kern::InversionFilter<double>)            \
  X(::magcnn::kern::EllipseFromUniforms<float>) X(::magcnn::kern::EllipseFromUniforms<double>)    \
  X(::magcnn::kern::RasterizeEllipse<float>) X(::magcnn::kern::RasterizeEllipse<double>)          \
  X(::magcnn::kern::SampleTarget<float>) X(::magcnn::kern::SampleTarget<double>)                \
  X(::magcnn::kern::SampleVectorTarget<float>) X(::magcnn::kern::SampleVectorTarget<double>)    \
  X(::magcnn::kern::AddNoise<float>) X(::magcnn::kern::AddNoise<double>)                          \
  MAGCNN_NETWORK_OPS(X)

// The network's and the trainer's element operations (kernels/network_ops.h).
#define MAGCNN_NETWORK_OPS(X)                                                                      \
  X(::magcnn::kern::BiasActivation<float>) X(::magcnn::kern::BiasActivation<double>)              \
  X(::magcnn::kern::ActivationGrad<float>) X(::magcnn::kern::ActivationGrad<double>)              \
  X(::magcnn::kern::MaxPool2x2<float>) X(::magcnn::kern::MaxPool2x2<double>)                      \
  X(::magcnn::kern::MaxPool2x2Grad<float>) X(::magcnn::kern::MaxPool2x2Grad<double>)              \
  X(::magcnn::kern::UpsampleAdd<float>) X(::magcnn::kern::UpsampleAdd<double>)                    \
  X(::magcnn::kern::UpsampleAddGrad<float>) X(::magcnn::kern::UpsampleAddGrad<double>)            \
  X(::magcnn::kern::MseGrad<float>) X(::magcnn::kern::MseGrad<double>)                            \
  X(::magcnn::kern::GatherBatch<float>) X(::magcnn::kern::GatherBatch<double>)                    \
  X(::magcnn::kern::AdamUpdate<float>) X(::magcnn::kern::AdamUpdate<double>)                      \
  X(::magcnn::kern::AdvanceStep) X(::magcnn::kern::AdamScalars) X(::magcnn::kern::Iota)

// X(op type) for every reduction (kernels/reduce_ops.h).
#define MAGCNN_REDUCE_OPS(X)                                                                       \
  X(::magcnn::kern::BiasGrad<float>) X(::magcnn::kern::BiasGrad<double>)                          \
  X(::magcnn::kern::SquaredErrorSum<float>) X(::magcnn::kern::SquaredErrorSum<double>)          \
  X(::magcnn::kern::MapMeanSquare<float>) X(::magcnn::kern::MapMeanSquare<double>)
