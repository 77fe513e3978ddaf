// The page every PLplot figure of magcnn starts from: a PNG of width x height pixels (pngcairo) written
// to `file`, white background, colour 15 black for axes and labels. Include only where PLplot is.
#pragma once

#include <plstream.h>

#include <string>

namespace magcnn {

inline void start_png_page(plstream& pls, const std::string& file, PLINT width, PLINT height) {
  pls.sdev("pngcairo");
  pls.sfnam(file.c_str());
  pls.spage(0, 0, width, height, 0, 0);
  pls.scol0(0, 255, 255, 255);  // colour 0 is the background: white
  pls.scol0(15, 0, 0, 0);       // colour 15 draws axes and labels: black
  pls.init();
}

}  // namespace magcnn
