// The per-element operations every backend runs: each is a functor from kernels/ whose operator()(i) is the
// whole body of one element, run by an OpenMP loop on the CPU and a grid-stride kernel on the GPU.
// MAGCNN_ELEMENT_OPS lists them once; Backend declares a run() overload for each and every backend
// implements all of them, so an op added here cannot be forgotten by one backend.
#pragma once

#include "kernels/cell_kernel.h"
#include "kernels/ellipse.h"
#include "kernels/forward_ops.h"

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
  X(::magcnn::kern::EmbedInterior<float>) X(::magcnn::kern::EmbedInterior<double>)                    \
  X(::magcnn::ops::ProductComponent<float>) X(::magcnn::ops::ProductComponent<double>)                    \
  X(::magcnn::ops::ProductCollinear<float>) X(::magcnn::ops::ProductCollinear<double>)            \
  X(::magcnn::kern::CropScale<float>) X(::magcnn::kern::CropScale<double>)                        \
  X(::magcnn::kern::EllipseFromUniforms<float>) X(::magcnn::kern::EllipseFromUniforms<double>)    \
  X(::magcnn::kern::RasterizeEllipse<float>) X(::magcnn::kern::RasterizeEllipse<double>)          \
  X(::magcnn::kern::SampleTarget<float>) X(::magcnn::kern::SampleTarget<double>)
