/* runtime/ops/misc_image.c: ImageDecoder (opset 20): an encoded image (uint8 1-D tensor) to
 * [H, W, C] uint8 in RGB, BGR or Grayscale. JPEG, PNG, WebP, TIFF and JPEG 2000 go through
 * Debian's libraries; BMP and binary PNM through the small parsers below. The format comes
 * from the magic bytes; bad or truncated data is a one-line ST_ERR_FORMAT, never a crash, and
 * dimensions are checked against a limit before any pixel buffer is allocated. */
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <jpeglib.h>
#include <openjpeg.h>
#include <png.h>
#include <tiffio.h>
#include <webp/decode.h>

#include "misc_impl.h"

#define IMG_MAX_SIDE 32768          /* pixels per side */
#define IMG_MAX_PIXELS (1ull << 28) /* 256 Mpixels: 768 MB as RGB */

typedef struct img {
    int64_t w, h;
    uint8_t *rgb; /* w * h * 3, st_malloc'd */
} img;

static st_status img_alloc(img *im, int64_t w, int64_t h, const char *fmt, st_error *err) {
    if (w <= 0 || h <= 0 || w > IMG_MAX_SIDE || h > IMG_MAX_SIDE ||
        (uint64_t)w * (uint64_t)h > IMG_MAX_PIXELS)
        return st_errorf(err, ST_ERR_FORMAT, "ImageDecoder: %s image of %lldx%lld is out of range",
                         fmt, (long long)w, (long long)h);
    im->w = w;
    im->h = h;
    im->rgb = st_malloc((size_t)(w * h * 3));
    return im->rgb ? ST_OK : st_error_nomem(err);
}

/* ---- JPEG (libjpeg-turbo) ---------------------------------------------------------- */
typedef struct jerr {
    struct jpeg_error_mgr mgr;
    jmp_buf jmp;
    char msg[JMSG_LENGTH_MAX];
} jerr;

static void jpeg_fail(j_common_ptr c) {
    jerr *e = (jerr *)c->err;
    (*c->err->format_message)(c, e->msg);
    longjmp(e->jmp, 1);
}
static void jpeg_quiet(j_common_ptr c, int level) { (void)c, (void)level; }

static st_status dec_jpeg(const uint8_t *p, size_t n, img *out, st_error *err) {
    struct jpeg_decompress_struct c;
    jerr e;
    img im = {0};
    img *volatile imp = &im;
    st_status s = ST_OK;
    c.err = jpeg_std_error(&e.mgr);
    e.mgr.error_exit = jpeg_fail;
    e.mgr.emit_message = jpeg_quiet;
    if (setjmp(e.jmp)) {
        jpeg_destroy_decompress(&c);
        st_free(imp->rgb);
        return st_errorf(err, ST_ERR_FORMAT, "ImageDecoder: bad JPEG: %s", e.msg);
    }
    jpeg_create_decompress(&c);
    jpeg_mem_src(&c, p, (unsigned long)n);
    jpeg_read_header(&c, TRUE);
    c.out_color_space = JCS_RGB;
    if ((s = img_alloc(imp, c.image_width, c.image_height, "JPEG", err))) goto done;
    jpeg_start_decompress(&c);
    /* a truncated stream is padded with grey by the library after a warning: refuse it */
    while (c.output_scanline < c.output_height) {
        JSAMPROW row = imp->rgb + (size_t)c.output_scanline * (size_t)imp->w * 3;
        jpeg_read_scanlines(&c, &row, 1);
    }
    if (e.mgr.num_warnings) {
        s = st_errorf(err, ST_ERR_FORMAT, "ImageDecoder: corrupt or truncated JPEG data");
        goto done;
    }
    jpeg_finish_decompress(&c);
done:
    jpeg_destroy_decompress(&c);
    if (s) {
        st_free(imp->rgb);
        return s;
    }
    *out = im;
    return ST_OK;
}

/* ---- PNG (libpng's simplified API) -------------------------------------------------- */
static st_status dec_png(const uint8_t *p, size_t n, img *out, st_error *err) {
    png_image pi;
    memset(&pi, 0, sizeof pi);
    pi.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&pi, p, n))
        return st_errorf(err, ST_ERR_FORMAT, "ImageDecoder: bad PNG: %s", pi.message);
    img im = {0};
    st_status s = img_alloc(&im, pi.width, pi.height, "PNG", err);
    if (s) {
        png_image_free(&pi);
        return s;
    }
    pi.format = PNG_FORMAT_RGB;
    if (!png_image_finish_read(&pi, NULL, im.rgb, 0, NULL)) {
        s = st_errorf(err, ST_ERR_FORMAT, "ImageDecoder: bad PNG: %s", pi.message);
        png_image_free(&pi);
        st_free(im.rgb);
        return s;
    }
    *out = im;
    return ST_OK;
}

/* ---- WebP (libwebp) ------------------------------------------------------------------ */
static st_status dec_webp(const uint8_t *p, size_t n, img *out, st_error *err) {
    int w, h;
    if (!WebPGetInfo(p, n, &w, &h))
        return st_errorf(err, ST_ERR_FORMAT, "ImageDecoder: bad WebP header");
    img im = {0};
    st_status s = img_alloc(&im, w, h, "WebP", err);
    if (s) return s;
    size_t bytes = (size_t)(im.w * im.h * 3);
    if (!WebPDecodeRGBInto(p, n, im.rgb, bytes, (int)im.w * 3)) {
        st_free(im.rgb);
        return st_errorf(err, ST_ERR_FORMAT, "ImageDecoder: corrupt or truncated WebP data");
    }
    *out = im;
    return ST_OK;
}

/* ---- TIFF (libtiff, read from memory) ------------------------------------------------ */
typedef struct memf {
    const uint8_t *p;
    size_t n, pos;
} memf;

static tmsize_t mf_read(thandle_t h, void *buf, tmsize_t len) {
    memf *m = h;
    size_t k = m->pos < m->n ? m->n - m->pos : 0;
    if ((size_t)len < k) k = (size_t)len;
    memcpy(buf, m->p + m->pos, k);
    m->pos += k;
    return (tmsize_t)k;
}
static tmsize_t mf_write(thandle_t h, void *buf, tmsize_t len) {
    (void)h, (void)buf, (void)len;
    return -1;
}
static toff_t mf_seek(thandle_t h, toff_t off, int whence) {
    memf *m = h;
    uint64_t base = whence == SEEK_CUR ? m->pos : whence == SEEK_END ? m->n : 0;
    m->pos = (size_t)(base + off);
    return m->pos;
}
static int mf_close(thandle_t h) {
    (void)h;
    return 0;
}
static toff_t mf_size(thandle_t h) { return ((memf *)h)->n; }
static int tiff_quiet(TIFF *t, void *ud, const char *mod, const char *fmt, va_list ap) {
    (void)t, (void)ud, (void)mod, (void)fmt, (void)ap;
    return 1; /* handled: nothing printed */
}

static st_status dec_tiff(const uint8_t *p, size_t n, img *out, st_error *err) {
    memf m = {p, n, 0};
    TIFFOpenOptions *o = TIFFOpenOptionsAlloc();
    if (!o) return st_error_nomem(err);
    TIFFOpenOptionsSetErrorHandlerExtR(o, tiff_quiet, NULL);
    TIFFOpenOptionsSetWarningHandlerExtR(o, tiff_quiet, NULL);
    TIFF *t = TIFFClientOpenExt("mem", "rm", &m, mf_read, mf_write, mf_seek, mf_close, mf_size,
                                NULL, NULL, o);
    TIFFOpenOptionsFree(o);
    if (!t) return st_errorf(err, ST_ERR_FORMAT, "ImageDecoder: bad TIFF header");
    uint32_t w = 0, h = 0;
    TIFFGetField(t, TIFFTAG_IMAGEWIDTH, &w);
    TIFFGetField(t, TIFFTAG_IMAGELENGTH, &h);
    img im = {0};
    uint32_t *raster = NULL;
    st_status s = img_alloc(&im, w, h, "TIFF", err);
    if (s) goto done;
    if (!(raster = st_malloc((size_t)w * h * 4))) {
        s = st_error_nomem(err);
        goto done;
    }
    if (!TIFFReadRGBAImageOriented(t, w, h, raster, ORIENTATION_TOPLEFT, 1)) {
        s = st_errorf(err, ST_ERR_FORMAT, "ImageDecoder: corrupt or truncated TIFF data");
        goto done;
    }
    for (size_t i = 0; i < (size_t)w * h; i++) {
        im.rgb[3 * i] = (uint8_t)TIFFGetR(raster[i]);
        im.rgb[3 * i + 1] = (uint8_t)TIFFGetG(raster[i]);
        im.rgb[3 * i + 2] = (uint8_t)TIFFGetB(raster[i]);
    }
done:
    TIFFClose(t);
    st_free(raster);
    if (s) {
        st_free(im.rgb);
        return s;
    }
    *out = im;
    return ST_OK;
}

/* ---- JPEG 2000 (OpenJPEG) ------------------------------------------------------------ */
static OPJ_SIZE_T j2k_read(void *buf, OPJ_SIZE_T len, void *h) {
    memf *m = h;
    size_t k = m->pos < m->n ? m->n - m->pos : 0;
    if (!k) return (OPJ_SIZE_T)-1;
    if (len < k) k = len;
    memcpy(buf, m->p + m->pos, k);
    m->pos += k;
    return k;
}
static OPJ_OFF_T j2k_skip(OPJ_OFF_T off, void *h) {
    memf *m = h;
    m->pos += (size_t)off;
    return off;
}
static OPJ_BOOL j2k_seek(OPJ_OFF_T off, void *h) {
    memf *m = h;
    if (off < 0 || (uint64_t)off > m->n) return OPJ_FALSE;
    m->pos = (size_t)off;
    return OPJ_TRUE;
}

static uint8_t j2k_sample(const opj_image_comp_t *c, size_t i) {
    int32_t v = c->data[i] + (c->sgnd ? 1 << (c->prec - 1) : 0);
    if (c->prec > 8) v >>= c->prec - 8;
    else if (c->prec < 8) v <<= 8 - c->prec;
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

static st_status dec_j2k(const uint8_t *p, size_t n, bool jp2, img *out, st_error *err) {
    memf m = {p, n, 0};
    opj_codec_t *codec = opj_create_decompress(jp2 ? OPJ_CODEC_JP2 : OPJ_CODEC_J2K);
    opj_stream_t *str = opj_stream_create(1 << 16, OPJ_TRUE);
    opj_image_t *image = NULL;
    img im = {0};
    st_status s = ST_OK;
    opj_dparameters_t prm;
    if (!codec || !str) {
        s = st_error_nomem(err);
        goto done;
    }
    opj_stream_set_user_data(str, &m, NULL);
    opj_stream_set_user_data_length(str, n);
    opj_stream_set_read_function(str, j2k_read);
    opj_stream_set_skip_function(str, j2k_skip);
    opj_stream_set_seek_function(str, j2k_seek);
    opj_set_default_decoder_parameters(&prm);
    if (!opj_setup_decoder(codec, &prm) || !opj_read_header(str, codec, &image)) {
        s = st_errorf(err, ST_ERR_FORMAT, "ImageDecoder: bad JPEG 2000 header");
        goto done;
    }
    int64_t w = image->x1 - image->x0, h = image->y1 - image->y0;
    if ((s = img_alloc(&im, w, h, "JPEG 2000", err))) goto done;
    if (!opj_decode(codec, str, image) || !opj_end_decompress(codec, str)) {
        s = st_errorf(err, ST_ERR_FORMAT, "ImageDecoder: corrupt or truncated JPEG 2000 data");
        goto done;
    }
    uint32_t nc = image->numcomps;
    for (uint32_t c = 0; c < nc; c++) {
        const opj_image_comp_t *cp = &image->comps[c];
        if (!cp->data || cp->w != (uint32_t)w || cp->h != (uint32_t)h || cp->prec < 1 ||
            cp->prec > 31) {
            s = st_errorf(err, ST_ERR_FORMAT, "ImageDecoder: unsupported JPEG 2000 layout");
            goto done;
        }
    }
    if (nc != 1 && nc < 3) {
        s = st_errorf(err, ST_ERR_FORMAT, "ImageDecoder: JPEG 2000 with %u components", nc);
        goto done;
    }
    for (size_t i = 0; i < (size_t)(w * h); i++)
        for (int c = 0; c < 3; c++)
            im.rgb[3 * i + c] = j2k_sample(&image->comps[nc == 1 ? 0 : c], i);
done:
    if (image) opj_image_destroy(image);
    if (str) opj_stream_destroy(str);
    if (codec) opj_destroy_codec(codec);
    if (s) {
        st_free(im.rgb);
        return s;
    }
    *out = im;
    return ST_OK;
}

/* ---- BMP and PNM: no Debian library decodes these from memory without pulling in a
 * whole toolkit (netpbm's libnetpbm reads FILE*), and both are a header over raw rows. */
static uint32_t le32(const uint8_t *p) {
    return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static st_status dec_bmp(const uint8_t *p, size_t n, img *out, st_error *err) {
    if (n < 54 || le32(p + 14) < 40)
        return st_errorf(err, ST_ERR_FORMAT, "ImageDecoder: truncated BMP header");
    uint32_t off = le32(p + 10), comp = le32(p + 30);
    int32_t w = (int32_t)le32(p + 18), hs = (int32_t)le32(p + 22);
    int bpp = p[28] | p[29] << 8;
    if ((bpp != 24 && bpp != 32) || comp != 0 || hs == INT32_MIN)
        return st_errorf(err, ST_ERR_FORMAT,
                         "ImageDecoder: BMP with %d bits/pixel, compression %u is not supported",
                         bpp, comp);
    int64_t h = hs < 0 ? -(int64_t)hs : hs;
    img im = {0};
    st_status s = img_alloc(&im, w, h, "BMP", err);
    if (s) return s;
    size_t stride = ((size_t)w * (size_t)bpp / 8 + 3) & ~(size_t)3;
    if (off > n || (n - off) / stride < (size_t)h) {
        st_free(im.rgb);
        return st_errorf(err, ST_ERR_FORMAT, "ImageDecoder: truncated BMP pixel data");
    }
    for (int64_t y = 0; y < h; y++) {
        const uint8_t *row = p + off + stride * (size_t)(hs < 0 ? y : h - 1 - y);
        uint8_t *d = im.rgb + (size_t)(y * w * 3);
        for (int64_t x = 0; x < w; x++, row += bpp / 8, d += 3) {
            d[0] = row[2];
            d[1] = row[1];
            d[2] = row[0];
        }
    }
    *out = im;
    return ST_OK;
}

/* One header number of a PNM file: skips whitespace and # comments. -1 when absent. */
static int64_t pnm_num(const uint8_t *p, size_t n, size_t *pos) {
    size_t i = *pos;
    for (;;) {
        while (i < n && (p[i] == ' ' || (p[i] >= '\t' && p[i] <= '\r'))) i++;
        if (i < n && p[i] == '#')
            while (i < n && p[i] != '\n') i++;
        else break;
    }
    int64_t v = 0;
    size_t start = i;
    while (i < n && p[i] >= '0' && p[i] <= '9' && v < 1000000) v = v * 10 + (p[i++] - '0');
    *pos = i;
    return i == start ? -1 : v;
}

static st_status dec_pnm(const uint8_t *p, size_t n, img *out, st_error *err) {
    size_t pos = 2;
    int gray = p[1] == '5';
    int64_t w = pnm_num(p, n, &pos), h = pnm_num(p, n, &pos), maxv = pnm_num(p, n, &pos);
    if (w < 0 || h < 0 || maxv < 1 || pos >= n)
        return st_errorf(err, ST_ERR_FORMAT, "ImageDecoder: truncated PNM header");
    if (maxv > 255)
        return st_errorf(err, ST_ERR_FORMAT, "ImageDecoder: 16-bit PNM is not supported");
    pos++; /* the single whitespace byte before the raster */
    img im = {0};
    st_status s = img_alloc(&im, w, h, "PNM", err);
    if (s) return s;
    size_t ch = gray ? 1 : 3, count = (size_t)(w * h);
    if ((n - pos) / ch < count) {
        st_free(im.rgb);
        return st_errorf(err, ST_ERR_FORMAT, "ImageDecoder: truncated PNM pixel data");
    }
    for (size_t i = 0; i < count; i++)
        for (size_t c = 0; c < 3; c++) {
            unsigned v = p[pos + i * ch + (gray ? 0 : c)];
            im.rgb[3 * i + c] = (uint8_t)(maxv == 255 ? v : (v * 255 + maxv / 2) / maxv);
        }
    *out = im;
    return ST_OK;
}

/* ---- the operator -------------------------------------------------------------------- */
typedef enum { PF_RGB, PF_BGR, PF_GRAY } pix_fmt;

static st_status decode_any(const uint8_t *p, size_t n, img *im, st_error *err) {
    static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    static const uint8_t jp2_sig[12] = {0, 0, 0, 12, 'j', 'P', ' ', ' ', '\r', '\n', 0x87, '\n'};
    if (n >= 3 && p[0] == 0xFF && p[1] == 0xD8 && p[2] == 0xFF) return dec_jpeg(p, n, im, err);
    if (n >= 8 && !memcmp(p, png_sig, 8)) return dec_png(p, n, im, err);
    if (n >= 12 && !memcmp(p, "RIFF", 4) && !memcmp(p + 8, "WEBP", 4))
        return dec_webp(p, n, im, err);
    if (n >= 4 && (!memcmp(p, "II*\0", 4) || !memcmp(p, "MM\0*", 4)))
        return dec_tiff(p, n, im, err);
    if (n >= 12 && !memcmp(p, jp2_sig, 12)) return dec_j2k(p, n, true, im, err);
    if (n >= 4 && p[0] == 0xFF && p[1] == 0x4F && p[2] == 0xFF && p[3] == 0x51)
        return dec_j2k(p, n, false, im, err);
    if (n >= 2 && p[0] == 'B' && p[1] == 'M') return dec_bmp(p, n, im, err);
    if (n >= 3 && p[0] == 'P' && (p[1] == '5' || p[1] == '6')) return dec_pnm(p, n, im, err);
    return st_errorf(err, ST_ERR_FORMAT, "ImageDecoder: unrecognised image format (%zu bytes)", n);
}

static st_status run_image(st_kctx *k, st_error *err) {
    const st_tensor *x = st_in(k, 0);
    pix_fmt pf = *(const pix_fmt *)k->state;
    img im = {0};
    st_status s = decode_any(x->data, st_tensor_nelem(x), &im, err);
    if (s) return s;
    int64_t dims[3] = {im.h, im.w, pf == PF_GRAY ? 1 : 3};
    st_tensor *y = st_out(k, 0, ST_DTYPE_U8, 3, dims, err);
    if (!y) {
        st_free(im.rgb);
        if (!st_has_out(k, 0)) return ST_OK;
        st_error_prefix(err, "ImageDecoder: ");
        return ST_ERR_NOMEM; /* st_out fails only for memory: the shape was checked */
    }
    uint8_t *d = y->data;
    const uint8_t *r = im.rgb;
    size_t count = (size_t)(im.w * im.h);
    for (size_t i = 0; i < count; i++, r += 3) {
        if (pf == PF_GRAY) /* PIL's convert("L"): ITU-R 601-2 luma in 16-bit fixed point */
            d[i] = (uint8_t)((r[0] * 19595u + r[1] * 38470u + r[2] * 7471u + 0x8000u) >> 16);
        else
            for (int c = 0; c < 3; c++) d[3 * i + c] = r[pf == PF_BGR ? 2 - c : c];
    }
    st_free(im.rgb);
    return ST_OK;
}

st_status st_misc_prep_image(st_kctx *k, st_error *err) {
    const st_tensor *x = st_in(k, 0);
    if (!x) return ST_KERR(err, ST_ERR_INVALID, "ImageDecoder: encoded_stream is required");
    if (x->dtype != ST_DTYPE_U8 || x->ndim != 1)
        return ST_KERR(err, ST_ERR_INVALID, "ImageDecoder: encoded_stream must be 1-D uint8");
    const char *f = st_attr_string(k->node, "pixel_format", "RGB");
    pix_fmt pf;
    if (!strcmp(f, "RGB")) pf = PF_RGB;
    else if (!strcmp(f, "BGR")) pf = PF_BGR;
    else if (!strcmp(f, "Grayscale")) pf = PF_GRAY;
    else return ST_KERR(err, ST_ERR_INVALID, "ImageDecoder: unknown pixel_format \"%s\"", f);
    int64_t dims[3] = {-1, -1, pf == PF_GRAY ? 1 : 3};
    st_out_declare_type(k, 0, ST_DTYPE_U8, 3, dims);
    pix_fmt *st = st_malloc(sizeof *st);
    if (!st) return st_error_nomem(err);
    *st = pf;
    k->state = st;
    k->run = run_image;
    return ST_OK;
}
