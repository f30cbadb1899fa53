/*
 * ring.c: the telemetry ring. Every record gets its sequence number and timestamp under the
 * ring lock, so seq order is time order and the reader never sees a half-written record.
 */
#include "hsprobe.h"

LONGLONG HspNow(void)
{
    LARGE_INTEGER now;
    KeQuerySystemTimePrecise(&now);
    return now.QuadPart;
}

void HspRecord(HSP_SHARED *s, hsp_record *r)
{
    KIRQL irql;
    r->version = HSPROBE_VERSION;
    KeAcquireSpinLock(&s->lock, &irql);
    r->seq = s->next_seq++;
    r->time = HspNow();
    s->ring[r->seq % HSP_RING_CAPACITY] = *r;
    KeReleaseSpinLock(&s->lock, irql);
}

void HspMark(HSP_SHARED *s, const char *label, ULONG worker)
{
    hsp_record r;
    size_t i;
    RtlZeroMemory(&r, sizeof r);
    r.kind = HSP_K_MARK;
    r.worker = worker;
    r.thread = (ULONG64)(ULONG_PTR)PsGetCurrentThreadId();
    for (i = 0; i + 1 < sizeof r.u.mark && label[i]; i++)
        r.u.mark[i] = label[i];
    HspRecord(s, &r);
}

/* Copies records from in->from_seq on; what the ring already overwrote counts as dropped. */
void HspReadRing(HSP_SHARED *s, const hsp_read_in *in, hsp_read_out *out)
{
    KIRQL irql;
    ULONG64 seq, oldest;
    KeAcquireSpinLock(&s->lock, &irql);
    oldest = s->next_seq > HSP_RING_CAPACITY ? s->next_seq - HSP_RING_CAPACITY : 0;
    seq = in->from_seq;
    out->dropped = seq < oldest ? oldest - seq : 0;
    if (seq < oldest)
        seq = oldest;
    out->count = 0;
    while (seq < s->next_seq && out->count < HSP_READ_MAX) {
        out->records[out->count++] = s->ring[seq % HSP_RING_CAPACITY];
        seq++;
    }
    out->next_seq = seq;
    KeReleaseSpinLock(&s->lock, irql);
}

/* At unload the device disappears with the ring, so the newest records go to a file that
   hsprobectl reads afterwards (the unload record and the last thread exits live only here). */
void HspDumpRing(HSP_SHARED *s)
{
    UNICODE_STRING name;
    OBJECT_ATTRIBUTES oa;
    IO_STATUS_BLOCK iosb;
    HANDLE file;
    hsp_file_header head;
    ULONG64 first, count;
    NTSTATUS status;

    RtlInitUnicodeString(&name, HSP_UNLOAD_DUMP);
    InitializeObjectAttributes(&oa, &name, OBJ_KERNEL_HANDLE | OBJ_CASE_INSENSITIVE, NULL, NULL);
    status = ZwCreateFile(&file, GENERIC_WRITE | SYNCHRONIZE, &oa, &iosb, NULL,
                          FILE_ATTRIBUTE_NORMAL, 0, FILE_OVERWRITE_IF,
                          FILE_SYNCHRONOUS_IO_NONALERT | FILE_NON_DIRECTORY_FILE, NULL, 0);
    if (!NT_SUCCESS(status))
        return; /* nothing else to do at unload; the live reads already have the rest */
    /* workers are stopped, no writer is left: the ring can be read without the lock */
    count = s->next_seq < HSP_RING_CAPACITY ? s->next_seq : HSP_RING_CAPACITY;
    first = s->next_seq - count;
    RtlZeroMemory(&head, sizeof head);
    RtlCopyMemory(head.magic, HSP_FILE_MAGIC, 4);
    head.layout = HSP_LAYOUT_VERSION;
    head.record_size = HSP_RECORD_SIZE;
    head.count = (uint32_t)count;
    head.source_version = HSPROBE_VERSION;
    head.dropped = first;
    status = ZwWriteFile(file, NULL, NULL, NULL, &iosb, &head, sizeof head, NULL, NULL);
    for (; NT_SUCCESS(status) && first < s->next_seq; first++)
        status = ZwWriteFile(file, NULL, NULL, NULL, &iosb, &s->ring[first % HSP_RING_CAPACITY],
                             sizeof(hsp_record), NULL, NULL);
    ZwClose(file);
}
