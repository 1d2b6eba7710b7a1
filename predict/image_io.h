// Image files for predict and the gallery (OpenCV): reading any common photo or scan as 8-bit RGB,
// resizing as `prepare` does, and drawing segmentations over images.
#pragma once

#include <opencv2/core.hpp>

#include <array>
#include <string>

namespace vmunet {

// 8-bit RGB of any PNG/JPEG/BMP/TIFF: grey is repeated to three channels, alpha dropped, 16-bit
// scaled by 255/65535, float taken as [0, 1]. Throws Error naming the file when it cannot be
// decoded or has another depth.
cv::Mat read_image_rgb(const std::string& path);

// To size×size the way `prepare isic` resizes images: area averaging when shrinking, bicubic when
// enlarging, untouched when already that size.
cv::Mat resize_like_prepare(const cv::Mat& image, int size);

// Writes a PNG (8- or 16-bit, 1 or 3 channels; 3-channel images are taken as RGB). Throws Error
// naming the file when it cannot be written.
void write_png(const std::string& path, const cv::Mat& image);

// Overlay colours (RGB) by class id: class c is drawn in kPalette[c % kPalette.size()]. Class 0
// (background) is never drawn. Binary masks use class 1 (green); the gallery draws references
// in kReferenceColour.
inline const std::array<cv::Vec3b, 10> kPalette{{{0, 0, 0},
                                                 {0, 255, 0},
                                                 {255, 0, 0},
                                                 {0, 0, 255},
                                                 {255, 255, 0},
                                                 {255, 0, 255},
                                                 {0, 255, 255},
                                                 {255, 128, 0},
                                                 {128, 0, 255},
                                                 {255, 255, 255}}};
inline const cv::Vec3b kReferenceColour{255, 0, 0};

// The RGB image with each class region of `classes` (uint8 ids, the image's size) tinted and its
// contour drawn, as the paper's figures show predictions. `colour` overrides the palette for
// every class when given.
cv::Mat overlay_classes(const cv::Mat& rgb, const cv::Mat& classes,
                        const cv::Vec3b* colour = nullptr);

}  // namespace vmunet
