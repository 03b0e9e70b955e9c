/* formats/onnx/onnx_pb.h: ONNX protobuf bytes <-> protobuf-c trees (onnx.pb-c.h), plus the
 * onnx-data.proto wrappers (SequenceProto, OptionalProto) that the node suite stores values
 * in. Trees live in one arena freed at once. Knows nothing of the IR. */
#ifndef ST_ONNX_PB_H
#define ST_ONNX_PB_H

#include "core.h"
#include "onnx.pb-c.h"

/* Deepest message nesting accepted before unpacking (protobuf-c recurses without a limit). */
#define ST_ONNX_MAX_DEPTH 256

/* Check the wire structure of `n` bytes against message descriptor `d` without unpacking:
 * tags, varints, lengths and nesting depth. `label` names the input in messages
 * ("model.onnx: truncated"). */
st_status st_onnx_pb_check(const char *label, const ProtobufCMessageDescriptor *d, const uint8_t *p,
                           size_t n, st_error *err);

/* Unpack `n` bytes as message `d` into `arena` (checked first), with a protobuf-c allocator
 * that allocates from the arena and never frees: the tree goes with the arena. */
st_status st_onnx_pb_unpack(const char *label, const ProtobufCMessageDescriptor *d,
                            const uint8_t *p, size_t n, st_arena *arena, ProtobufCMessage **out,
                            st_error *err);

/* raw_data payloads at least this long are left in the mapped file, not copied. */
#define ST_ONNX_SPAN_MIN 64

/* Map `path`, unpack a ModelProto into a new arena and validate its outline. On success the
 * caller owns *arena_out.
 * file_out NULL: every byte is copied into the arena and the mapping is released.
 * file_out set: raw_data payloads of at least ST_ONNX_SPAN_MIN bytes of every TensorProto
 * (initializers, Constant and other attribute tensors, subgraphs, functions) stay in the
 * file: protobuf-c unpacks a compact copy of the model where each such raw_data is replaced
 * by a span marker that st_onnx_pb_raw_span reads. A payload misaligned for its data type is
 * moved back by a few bytes inside the private (copy-on-write) mapping, over wire bytes
 * already decoded, so that it can be borrowed in place. *file_out gets a reference to the
 * mapping when some payload was left there, else NULL. */
st_status st_onnx_pb_load_model(const char *path, st_arena **arena_out, Onnx__ModelProto **out,
                                st_buf **file_out, st_error *err);

/* The raw_data bytes of a TensorProto unpacked by st_onnx_pb_load_model that stayed in the
 * mapping `file`: false when tp carries its raw_data (if any) itself. */
bool st_onnx_pb_raw_span(const Onnx__TensorProto *tp, const st_buf *file, const uint8_t **data,
                         size_t *len);

/* Plausibly a serialized ModelProto (looks at the leading fields only; n may be a prefix). */
bool st_onnx_pb_sniff_model(const unsigned char *data, size_t n);

/* ---- onnx-data.proto wrappers, decoded by hand (the build generates only onnx.proto) ---- */
typedef enum {
    ST_ONNX_MSG_TENSOR = 0, /* TensorProto */
    ST_ONNX_MSG_SEQUENCE,   /* SequenceProto of tensors */
    ST_ONNX_MSG_OPTIONAL,   /* OptionalProto of a tensor or a sequence of tensors */
    ST_ONNX_MSG_COUNT
} st_onnx_msg;

/* SequenceProto.DataType / OptionalProto.DataType */
enum {
    ST_ONNX_ELEM_UNDEFINED = 0,
    ST_ONNX_ELEM_TENSOR = 1,
    ST_ONNX_ELEM_SPARSE = 2,
    ST_ONNX_ELEM_SEQUENCE = 3,
    ST_ONNX_ELEM_MAP = 4,
    ST_ONNX_ELEM_OPTIONAL = 5
};

typedef struct st_onnx_data st_onnx_data;
struct st_onnx_data {
    st_onnx_msg msg;
    char *name;                /* NULL when absent */
    int32_t elem_type;         /* ST_ONNX_ELEM_*; sequence/optional only */
    Onnx__TensorProto *tensor; /* TENSOR, or OPTIONAL holding a tensor */
    size_t n_tensors;          /* SEQUENCE: its tensor_values */
    Onnx__TensorProto **tensors;
    st_onnx_data *sequence; /* OPTIONAL holding a sequence */
};

/* Decode a value message of kind `msg` into `arena`. Values the IR cannot hold (maps,
 * sparse tensors, nested sequences) give ST_ERR_UNSUPPORTED. */
st_status st_onnx_pb_parse_data(const char *label, st_onnx_msg msg, const uint8_t *p, size_t n,
                                st_arena *arena, st_onnx_data **out, st_error *err);
/* Guess which message a value file holds from its wire fields. */
st_onnx_msg st_onnx_pb_guess_data(const uint8_t *p, size_t n);
/* Serialize `d` into a new heap buffer. */
st_status st_onnx_pb_pack_data(const st_onnx_data *d, st_buf **out, st_error *err);

#endif
