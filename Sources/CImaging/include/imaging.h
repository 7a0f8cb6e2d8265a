// Strongroom's one wrapper of libvips: decode an image or a PDF page, fill rectangles, and
// encode the pixels again. libvips' API is variadic, which Swift cannot call; these functions
// are its fixed-argument face. Every function returns 0 on success, or -1 with a message in
// `error` (libvips' own words, never any content).
#ifndef STRONGROOM_IMAGING_H
#define STRONGROOM_IMAGING_H
#include <stddef.h>
#include <stdint.h>

enum sr_format { SR_JPEG = 1, SR_PNG = 2, SR_WEBP = 3, SR_HEIF = 4, SR_PDF = 5 };

/// A rectangle in output pixels; filled with opaque black.
typedef struct { int x, y, width, height; } sr_rect;

/// Starts libvips once: loaders marked untrusted (ImageMagick, and others that parse too much)
/// are blocked, the operation cache is off, one worker thread.
int sr_imaging_start(char *error, size_t error_size);

/// Reads only the header: width, height and (for a PDF) pages, without decoding pixels.
/// For a PDF, width and height are those of `page` rendered at `dpi`.
int sr_probe(const void *data, size_t size, int format, int page, double dpi,
             int *width, int *height, int *pages, char *error, size_t error_size);

/// Decodes (a PDF: renders `page` at `dpi`), applies EXIF orientation, refuses more than
/// `max_pixels` (returns -2), refuses a rectangle not inside the image (-3), fills `rects`, and encodes as `out_format` (SR_JPEG, SR_PNG or SR_WEBP) with
/// no metadata. `*out` is freed with sr_free.
int sr_redraw(const void *data, size_t size, int format, int page, double dpi, uint64_t max_pixels,
              const sr_rect *rects, int rect_count, int out_format, int quality,
              void **out, size_t *out_size, int *width, int *height, int *bands, char *error, size_t error_size);

/// Decodes to 8-bit pixels, row by row (`*bands` bytes a pixel), within `max_pixels`.
/// `*out` is freed with sr_free.
int sr_decode(const void *data, size_t size, int format, int page, double dpi, uint64_t max_pixels,
              void **out, size_t *out_size, int *width, int *height, int *bands, char *error, size_t error_size);

/// A preview to look at, never the original bytes: decodes (a PDF: renders `page`, from 0, at
/// the resolution that fits), applies EXIF orientation, scales down so the longest side is at
/// most `max_side`, converts to 8-bit sRGB and encodes as PNG with no metadata. Refuses more
/// than `max_pixels` in the source (-2). `*pages` is the PDF's page count (1 for an image).
/// `*out` is freed with sr_free.
int sr_preview(const void *data, size_t size, int format, int page, int max_side, uint64_t max_pixels,
               void **out, size_t *out_size, int *width, int *height, int *pages, char *error, size_t error_size);

/// A shape to draw: a polyline (`closed` joins the last point to the first) stroked `width`
/// pixels wide, or, when `count` is 1, a filled disc of diameter `width`. `xy` holds `count`
/// pairs of pixel coordinates.
typedef struct { const double *xy; int count; int closed; double width; unsigned char r, g, b; } sr_shape;

/// A line of text drawn at (x, y), its top left, `height` pixels high, in `font` (a Pango font
/// family and style such as "sans bold"; NULL: "sans bold").
typedef struct { const char *text; const char *font; int x, y, height; unsigned char r, g, b; } sr_label;

/// Draws `shapes`, then `labels`, on a white `width` x `height` canvas and encodes it as
/// `out_format` (SR_PNG, or SR_JPEG at `quality`) with no metadata. A label libvips cannot draw
/// (no fonts) is left out rather than failing the drawing. `*out` is freed with sr_free.
int sr_draw(int width, int height, const sr_shape *shapes, int shape_count, const sr_label *labels, int label_count,
            int out_format, int quality, void **out, size_t *out_size, char *error, size_t error_size);

void sr_free(void *buffer);

#endif
