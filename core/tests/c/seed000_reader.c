/* A reader written only from seed 000's structs and CRC rule, as a C user of vitalring would.
 * Usage: seed000_reader layout         -> prints sizeof/offsetof of the seed structs
 *        seed000_reader read RING_FILE -> prints "index hr spo2 rr" for each valid frame held
 * Exit status 0 on success, 2 on a bad header, 3 on a CRC failure. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdatomic.h>

struct RingBufferHeader {
    uint32_t magic;              /* 0x534D5242 ('SMRB') */
    uint16_t version;            /* 1 */
    uint16_t reserved1;
    uint32_t frameSizeBytes;     /* 4096 */
    uint32_t frameCount;         /* 2048 */
    _Atomic uint64_t writeIndex;
    _Atomic uint64_t heartbeatTimestamp;  /* ms since epoch */
    uint32_t crc32;
    uint32_t reserved2[11];
};

struct SensorFrame {
    uint8_t type;                /* 0x01 = Vitals, 0x02 = Waveform, 0x03 = Heartbeat */
    uint8_t reserved[3];
    uint64_t timestampNs;        /* Nanoseconds since epoch */
    uint32_t sequenceNumber;
    uint32_t dataSize;           /* Size of JSON payload */
    uint8_t data[4064];          /* JSON payload */
    uint32_t crc32;
};

/* zlib's CRC-32 (ISO-HDLC), bitwise. */
static uint32_t calculateCRC32(const void *data, size_t size) {
    const uint8_t *p = data;
    uint32_t crc = 0xFFFFFFFFu;
    for (size_t i = 0; i < size; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return crc ^ 0xFFFFFFFFu;
}

static int json_int(const char *json, const char *key, long *out) {
    char pattern[32];
    snprintf(pattern, sizeof pattern, "\"%s\":", key);
    const char *at = strstr(json, pattern);
    if (!at) return 0;
    *out = strtol(at + strlen(pattern), NULL, 10);
    return 1;
}

int main(int argc, char **argv) {
    if (argc == 2 && strcmp(argv[1], "layout") == 0) {
        printf("header_size %zu\n", sizeof(struct RingBufferHeader));
        printf("magic %zu\nversion %zu\nreserved1 %zu\nframeSizeBytes %zu\nframeCount %zu\n",
               offsetof(struct RingBufferHeader, magic), offsetof(struct RingBufferHeader, version),
               offsetof(struct RingBufferHeader, reserved1),
               offsetof(struct RingBufferHeader, frameSizeBytes),
               offsetof(struct RingBufferHeader, frameCount));
        printf("writeIndex %zu\nheartbeatTimestamp %zu\ncrc32 %zu\nreserved2 %zu\n",
               offsetof(struct RingBufferHeader, writeIndex),
               offsetof(struct RingBufferHeader, heartbeatTimestamp),
               offsetof(struct RingBufferHeader, crc32), offsetof(struct RingBufferHeader, reserved2));
        printf("frame_size %zu\ntype %zu\ntimestampNs %zu\nsequenceNumber %zu\ndataSize %zu\ndata %zu\nframe_crc32 %zu\n",
               sizeof(struct SensorFrame), offsetof(struct SensorFrame, type),
               offsetof(struct SensorFrame, timestampNs), offsetof(struct SensorFrame, sequenceNumber),
               offsetof(struct SensorFrame, dataSize), offsetof(struct SensorFrame, data),
               offsetof(struct SensorFrame, crc32));
        return 0;
    }
    if (argc != 3 || strcmp(argv[1], "read") != 0) return 64;
    FILE *f = fopen(argv[2], "rb");
    if (!f) return 66;
    static unsigned char ring[80 + 64 * 4096];
    size_t n = fread(ring, 1, sizeof ring, f);
    fclose(f);
    struct RingBufferHeader header;
    memcpy(&header, ring, sizeof header);
    if (header.magic != 0x534D5242u || header.version != 1 || header.frameSizeBytes != 4096 ||
        n != 80 + (size_t)header.frameCount * header.frameSizeBytes) return 2;
    uint64_t w = atomic_load_explicit(&header.writeIndex, memory_order_acquire);
    uint64_t first = w > header.frameCount ? w - header.frameCount : 0;
    for (uint64_t i = first; i < w; i++) {
        struct SensorFrame frame;
        memcpy(&frame, ring + 80 + (i % header.frameCount) * header.frameSizeBytes, sizeof frame);
        uint32_t expected = frame.crc32;
        frame.crc32 = 0;
        uint32_t actual = calculateCRC32(&frame, sizeof(struct SensorFrame) - 4);
        if (actual != expected) { fprintf(stderr, "crc mismatch at %llu\n", (unsigned long long)i); return 3; }
        if (frame.sequenceNumber != (uint32_t)i || frame.type != 1 || frame.dataSize >= sizeof frame.data) return 4;
        frame.data[frame.dataSize] = 0;
        long hr = -1, spo2 = -1, rr = -1;
        json_int((const char *)frame.data, "hr", &hr);
        json_int((const char *)frame.data, "spo2", &spo2);
        json_int((const char *)frame.data, "rr", &rr);
        printf("%llu %ld %ld %ld\n", (unsigned long long)i, hr, spo2, rr);
    }
    return 0;
}
