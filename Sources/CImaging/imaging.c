#include "imaging.h"
#include <string.h>
#include <stdio.h>
#include <vips/vips.h>

static void take_error(char *error, size_t error_size, const char *what) {
    const char *vips = vips_error_buffer();
    snprintf(error, error_size, "%s%s%s", what, vips && *vips ? ": " : "", vips ? vips : "");
    // Keep one line.
    for (char *p = error; *p; p++) if (*p == '\n' || *p == '\r') *p = ' ';
    vips_error_clear();
}

int sr_imaging_start(char *error, size_t error_size) {
    if (VIPS_INIT("strongroom") != 0) { take_error(error, error_size, "libvips did not start"); return -1; }
    vips_block_untrusted_set(TRUE);
    // libvips counts poppler as untrusted; PDF redaction needs it and nothing else of that kind.
    vips_operation_block_set("VipsForeignLoadPdf", FALSE);
    vips_cache_set_max(0);
    vips_concurrency_set(1);
    return 0;
}

/// Opens a header with the loader for `format` only, never libvips' guess.
static int load(const void *data, size_t size, int format, int page, double dpi, VipsImage **out) {
    void *buffer = (void *)data;
    if (size == 0) { vips_error("strongroom", "the file is empty"); return -1; }
    switch (format) {
    case SR_JPEG: return vips_jpegload_buffer(buffer, size, out, "fail_on", VIPS_FAIL_ON_ERROR, NULL);
    case SR_PNG: return vips_pngload_buffer(buffer, size, out, "fail_on", VIPS_FAIL_ON_ERROR, "unlimited", FALSE, NULL);
    case SR_WEBP: return vips_webpload_buffer(buffer, size, out, "fail_on", VIPS_FAIL_ON_ERROR, NULL);
    case SR_HEIF: return vips_heifload_buffer(buffer, size, out, "fail_on", VIPS_FAIL_ON_ERROR, "thumbnail", FALSE, NULL);
    case SR_PDF: return vips_pdfload_buffer(buffer, size, out, "page", page, "n", 1, "dpi", dpi, "fail_on", VIPS_FAIL_ON_ERROR, NULL);
    default: vips_error("strongroom", "unknown format %d", format); return -1;
    }
}

int sr_probe(const void *data, size_t size, int format, int page, double dpi,
             int *width, int *height, int *pages, char *error, size_t error_size) {
    VipsImage *image = NULL;
    if (load(data, size, format, page, dpi, &image) != 0) { take_error(error, error_size, "cannot read the file"); return -1; }
    *width = vips_image_get_width(image);
    *height = vips_image_get_height(image);
    *pages = vips_image_get_n_pages(image);
    int orientation = 1;
    if (format != SR_PDF && vips_image_get_typeof(image, VIPS_META_ORIENTATION) &&
        vips_image_get_int(image, VIPS_META_ORIENTATION, &orientation) == 0 && orientation >= 5 && orientation <= 8) {
        // Shown turned a quarter (as vips_autorot turns it before any redraw): width and height swap.
        int w = *width;
        *width = *height;
        *height = w;
    }
    g_object_unref(image);
    return 0;
}

static int replace(VipsImage **image, int result, VipsImage *next) {
    if (result != 0) return -1;
    g_object_unref(*image);
    *image = next;
    return 0;
}

int sr_redraw(const void *data, size_t size, int format, int page, double dpi, uint64_t max_pixels,
              const sr_rect *rects, int rect_count, int out_format, int quality,
              void **out, size_t *out_size, int *width, int *height, int *bands_out, char *error, size_t error_size) {
    VipsImage *image = NULL, *next = NULL;
    *out = NULL;
    if (load(data, size, format, page, dpi, &image) != 0) { take_error(error, error_size, "cannot read the file"); return -1; }
    // The pixel budget, from the header alone: nothing has been decoded yet.
    uint64_t pixels = (uint64_t)vips_image_get_width(image) * (uint64_t)vips_image_get_height(image);
    if (pixels > max_pixels) {
        snprintf(error, error_size, "the image is %dx%d pixels, more than the budget of %llu pixels",
                 vips_image_get_width(image), vips_image_get_height(image), (unsigned long long)max_pixels);
        g_object_unref(image);
        return -2;
    }
    // Pixels as they are shown: EXIF orientation (JPEG, HEIF, WebP, and PNG's eXIf chunk)
    // applied before the tag is dropped, so rectangles land where the viewer saw them.
    if (format != SR_PDF) {
        if (replace(&image, vips_autorot(image, &next, NULL), next) != 0) goto failed;
    }
    if (vips_image_get_interpretation(image) == VIPS_INTERPRETATION_CMYK
        || (out_format == SR_JPEG && vips_image_get_bands(image) > 2 && vips_image_get_interpretation(image) != VIPS_INTERPRETATION_sRGB)) {
        if (replace(&image, vips_colourspace(image, &next, VIPS_INTERPRETATION_sRGB, NULL), next) != 0) goto failed;
    }
    if (out_format == SR_JPEG && vips_image_hasalpha(image)) {
        // Transparent pixels become white, as on paper.
        VipsArrayDouble *white = vips_array_double_newv(1, 255.0);
        int flattened = vips_flatten(image, &next, "background", white, NULL);
        vips_area_unref(VIPS_AREA(white));
        if (replace(&image, flattened, next) != 0) goto failed;
    }
    if (vips_image_get_format(image) != VIPS_FORMAT_UCHAR && out_format != SR_PNG) {
        if (replace(&image, vips_cast_uchar(image, &next, NULL), next) != 0) goto failed;
    }
    // Decode into memory: the rectangles are drawn into the pixels themselves.
    next = vips_image_copy_memory(image);
    if (replace(&image, next ? 0 : -1, next) != 0) goto failed;
    int image_width = vips_image_get_width(image), image_height = vips_image_get_height(image);
    for (int i = 0; i < rect_count; i++) {
        const sr_rect r = rects[i];
        if (r.width <= 0 || r.height <= 0 || r.x < 0 || r.y < 0 || r.x > image_width - r.width || r.y > image_height - r.height) {
            snprintf(error, error_size, "rectangle %d [%d, %d, %d, %d] does not lie inside the %dx%d image",
                     i + 1, r.x, r.y, r.width, r.height, image_width, image_height);
            g_object_unref(image);
            return -3;
        }
    }
    int bands = vips_image_get_bands(image);
    double ink[4] = {0, 0, 0, 0};
    if (bands > 4) { vips_error("strongroom", "images of %d bands are not supported", bands); goto failed; }
    if (vips_image_hasalpha(image)) ink[bands - 1] = vips_image_get_format(image) == VIPS_FORMAT_USHORT ? 65535 : 255;
    for (int i = 0; i < rect_count; i++) {
        if (vips_draw_rect(image, ink, bands, rects[i].x, rects[i].y, rects[i].width, rects[i].height, "fill", TRUE, NULL) != 0) goto failed;
    }
    int result;
    switch (out_format) {
    case SR_JPEG: result = vips_jpegsave_buffer(image, out, out_size, "Q", quality, "strip", TRUE, "optimize_coding", TRUE, NULL); break;
    case SR_PNG: result = vips_pngsave_buffer(image, out, out_size, "strip", TRUE, NULL); break;
    case SR_WEBP: result = vips_webpsave_buffer(image, out, out_size, "Q", quality, "strip", TRUE, NULL); break;
    default: vips_error("strongroom", "cannot write format %d", out_format); result = -1;
    }
    if (result != 0) goto failed;
    *width = vips_image_get_width(image);
    *height = vips_image_get_height(image);
    *bands_out = vips_image_get_bands(image);
    g_object_unref(image);
    return 0;
failed:
    take_error(error, error_size, "cannot redraw the image");
    if (image) g_object_unref(image);
    if (*out) { g_free(*out); *out = NULL; }
    return -1;
}

int sr_decode(const void *data, size_t size, int format, int page, double dpi, uint64_t max_pixels,
              void **out, size_t *out_size, int *width, int *height, int *bands, char *error, size_t error_size) {
    VipsImage *image = NULL, *next = NULL;
    *out = NULL;
    if (load(data, size, format, page, dpi, &image) != 0) { take_error(error, error_size, "cannot read the file"); return -1; }
    if ((uint64_t)vips_image_get_width(image) * (uint64_t)vips_image_get_height(image) > max_pixels) {
        snprintf(error, error_size, "the image is %dx%d pixels, more than the budget of %llu pixels",
                 vips_image_get_width(image), vips_image_get_height(image), (unsigned long long)max_pixels);
        g_object_unref(image);
        return -2;
    }
    if (vips_image_get_format(image) != VIPS_FORMAT_UCHAR) {
        if (replace(&image, vips_cast_uchar(image, &next, NULL), next) != 0) goto failed;
    }
    *out = vips_image_write_to_memory(image, out_size);
    if (!*out) goto failed;
    *width = vips_image_get_width(image);
    *height = vips_image_get_height(image);
    *bands = vips_image_get_bands(image);
    g_object_unref(image);
    return 0;
failed:
    take_error(error, error_size, "cannot decode the image");
    if (image) g_object_unref(image);
    return -1;
}

void sr_free(void *buffer) { g_free(buffer); }

int sr_preview(const void *data, size_t size, int format, int page, int max_side, uint64_t max_pixels,
               void **out, size_t *out_size, int *width, int *height, int *pages, char *error, size_t error_size) {
    VipsImage *image = NULL, *next = NULL;
    *out = NULL;
    if (max_side < 16) { snprintf(error, error_size, "a preview is at least 16 pixels"); return -1; }
    if (load(data, size, format, page, 72, &image) != 0) { take_error(error, error_size, "cannot read the file"); return -1; }
    int w = vips_image_get_width(image), h = vips_image_get_height(image);
    *pages = format == SR_PDF ? vips_image_get_n_pages(image) : 1;
    int longest = w > h ? w : h;
    if (format == SR_PDF) {
        // Render the page at the resolution that makes its longest side max_side (at most
        // 300 dpi), not at 72 dpi and then scaled: text stays sharp.
        double dpi = longest > 0 ? 72.0 * max_side / longest : 72.0;
        if (dpi > 300) dpi = 300;
        g_object_unref(image);
        image = NULL;
        if (load(data, size, format, page, dpi, &image) != 0) { take_error(error, error_size, "cannot render the page"); return -1; }
    } else {
        // The pixel budget, from the header alone: nothing has been decoded yet.
        if ((uint64_t)w * (uint64_t)h > max_pixels) {
            snprintf(error, error_size, "the image is %dx%d pixels, more than the budget of %llu pixels", w, h, (unsigned long long)max_pixels);
            g_object_unref(image);
            return -2;
        }
        if (format == SR_JPEG && longest > 2 * max_side) {
            // Shrink on load (1/2, 1/4 or 1/8 in the decoder itself): a 12-megapixel photo is
            // never decoded at full size for a preview.
            int shrink = 1;
            while (shrink < 8 && longest / (shrink * 2) >= max_side) shrink *= 2;
            g_object_unref(image);
            image = NULL;
            if (vips_jpegload_buffer((void *)data, size, &image, "fail_on", VIPS_FAIL_ON_ERROR, "shrink", shrink, NULL) != 0) {
                take_error(error, error_size, "cannot read the file");
                return -1;
            }
        }
        if (replace(&image, vips_autorot(image, &next, NULL), next) != 0) goto failed;
    }
    int iw = vips_image_get_width(image), ih = vips_image_get_height(image);
    int ilongest = iw > ih ? iw : ih;
    if (ilongest > max_side) {
        if (replace(&image, vips_resize(image, &next, (double)max_side / ilongest, NULL), next) != 0) goto failed;
    }
    if (vips_image_get_interpretation(image) != VIPS_INTERPRETATION_sRGB && vips_image_get_interpretation(image) != VIPS_INTERPRETATION_B_W) {
        if (replace(&image, vips_colourspace(image, &next, VIPS_INTERPRETATION_sRGB, NULL), next) != 0) goto failed;
    }
    if (vips_image_get_format(image) != VIPS_FORMAT_UCHAR) {
        if (replace(&image, vips_cast_uchar(image, &next, NULL), next) != 0) goto failed;
    }
    if (vips_pngsave_buffer(image, out, out_size, "strip", TRUE, "compression", 6, NULL) != 0) goto failed;
    *width = vips_image_get_width(image);
    *height = vips_image_get_height(image);
    g_object_unref(image);
    return 0;
failed:
    take_error(error, error_size, "cannot make a preview");
    if (image) g_object_unref(image);
    return -1;
}

static int stroke_disc(VipsImage *image, double *ink, double x, double y, double radius) {
    int r = (int)(radius + 0.5);
    if (r < 1) r = 1;
    return vips_draw_circle(image, ink, 3, (int)(x + 0.5), (int)(y + 0.5), r, "fill", TRUE, NULL);
}

int sr_draw(int width, int height, const sr_shape *shapes, int shape_count, const sr_label *labels, int label_count,
            int out_format, int quality, void **out, size_t *out_size, char *error, size_t error_size) {
    *out = NULL;
    if (width < 1 || height < 1 || width > 4000 || height > 4000) {
        snprintf(error, error_size, "a drawing is 1 to 4000 pixels a side");
        return -1;
    }
    size_t size = (size_t)width * (size_t)height * 3;
    unsigned char *white = g_malloc(size);
    memset(white, 255, size);
    VipsImage *image = vips_image_new_from_memory_copy(white, size, width, height, 3, VIPS_FORMAT_UCHAR);
    g_free(white);
    if (!image) { take_error(error, error_size, "cannot make a canvas"); return -1; }
    image->Type = VIPS_INTERPRETATION_sRGB;
    for (int i = 0; i < shape_count; i++) {
        const sr_shape s = shapes[i];
        double ink[3] = {s.r, s.g, s.b};
        double radius = s.width / 2;
        if (s.count < 1) continue;
        if (s.count == 1) {
            if (stroke_disc(image, ink, s.xy[0], s.xy[1], radius) != 0) goto failed;
            continue;
        }
        int segments = s.closed ? s.count : s.count - 1;
        for (int k = 0; k < segments; k++) {
            double x0 = s.xy[2 * k], y0 = s.xy[2 * k + 1];
            double x1 = s.xy[2 * ((k + 1) % s.count)], y1 = s.xy[2 * ((k + 1) % s.count) + 1];
            double dx = x1 - x0, dy = y1 - y0;
            double length = dx * dx + dy * dy;
            int steps = 1;
            while ((double)steps * steps < length && steps < 8000) steps++;
            // A thick line as discs a pixel apart: round joins and ends, no gaps.
            for (int t = 0; t <= steps; t++) {
                if (stroke_disc(image, ink, x0 + dx * t / steps, y0 + dy * t / steps, radius) != 0) goto failed;
            }
        }
    }
    for (int i = 0; i < label_count; i++) {
        const sr_label l = labels[i];
        VipsImage *mask = NULL;
        char font[64];
        snprintf(font, sizeof font, "%s %d", l.font ? l.font : "sans bold", l.height > 4 ? l.height * 3 / 4 : 9);
        if (vips_text(&mask, l.text, "font", font, "dpi", 72, NULL) != 0) { vips_error_clear(); continue; }
        double ink[3] = {l.r, l.g, l.b};
        int drawn = vips_draw_mask(image, ink, 3, mask, l.x, l.y, NULL);
        g_object_unref(mask);
        if (drawn != 0) goto failed;
    }
    int saved = out_format == SR_JPEG
        ? vips_jpegsave_buffer(image, out, out_size, "Q", quality, "strip", TRUE, "optimize_coding", TRUE, NULL)
        : vips_pngsave_buffer(image, out, out_size, "strip", TRUE, "compression", 6, NULL);
    if (saved != 0) goto failed;
    g_object_unref(image);
    return 0;
failed:
    take_error(error, error_size, "cannot draw");
    g_object_unref(image);
    return -1;
}
