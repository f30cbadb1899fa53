/*
 * ioctl.c: the control codes. Every harness action is one METHOD_BUFFERED IOCTL; the handler
 * fills an output whose first field is the NTSTATUS the kernel gave (a measurement), while
 * the request's own status (the IRP status on Windows, the ioctl result on Linux) only says
 * whether the request itself was well formed. The OS layers only move the buffer.
 */
#include "hsprobe.h"

static void HspQuery(HSP_SHARED *s, hsp_info_out *o)
{
    RtlZeroMemory(o, sizeof *o);
    o->layout = HSP_LAYOUT_VERSION;
    o->image_version = HSPROBE_VERSION;
    o->feature_flags = s->feature_flags;
    o->extension_status = (uint32_t)s->extension_status;
    o->register_status = (uint32_t)s->register_status;
    o->registered_version = s->registered_version;
    o->attached_mask = (s->images[1].driver ? 2u : 0u) | (s->images[2].driver ? 4u : 0u);
    o->live_workers = HspLiveWorkers(s);
    o->last_swap_status = (uint32_t)s->last_swap_status;
    o->next_seq = s->next_seq;
}

static void HspGate(HSP_SHARED *s, const hsp_gate_in *in)
{
    HspMark(s, in->closed ? "gate closed" : "gate opened", 0);
    if (in->closed)
        KeClearEvent(&s->gate);
    else
        KeSetEvent(&s->gate, IO_NO_INCREMENT, FALSE);
}

NTSTATUS HspControl(HSP_SHARED *s, ULONG code, PVOID buf, ULONG in_len, ULONG out_len,
                    ULONG_PTR *info)
{
    hsp_status_out result;
    hsp_status_out *out = &result;
    RtlZeroMemory(&result, sizeof result);
#if HSPROBE_VERSION != 1
    /* workers belong to version 1, which stops them at its unload; one created here could
       run this image's code after it is gone */
    if (code == IOCTL_HSP_CREATE)
        return STATUS_INVALID_DEVICE_REQUEST;
#endif
#define NEED(in_type, out_type)                                                    \
    do {                                                                           \
        if (in_len < sizeof(in_type) || out_len < sizeof(out_type))                \
            return STATUS_BUFFER_TOO_SMALL;                                        \
        *info = sizeof(out_type);                                                  \
    } while (0)
    switch (code) {
    case IOCTL_HSP_QUERY:
        if (out_len < sizeof(hsp_info_out))
            return STATUS_BUFFER_TOO_SMALL;
        HspQuery(s, (hsp_info_out *)buf);
        *info = sizeof(hsp_info_out);
        return STATUS_SUCCESS;
    case IOCTL_HSP_READ: {
        hsp_read_in in;
        NEED(hsp_read_in, hsp_read_out);
        in = *(hsp_read_in *)buf;
        HspReadRing(s, &in, (hsp_read_out *)buf);
        return STATUS_SUCCESS;
    }
    case IOCTL_HSP_CREATE: {
        hsp_create_in in;
        NEED(hsp_create_in, hsp_status_out);
        in = *(hsp_create_in *)buf;
        if (!NT_SUCCESS(HspCreateWorker(s, &in, out)))
            return STATUS_INVALID_PARAMETER;
        break;
    }
    case IOCTL_HSP_SIGNAL:
        NEED(hsp_signal_in, hsp_status_out);
        out->status = (uint32_t)HspSignal(s, (hsp_signal_in *)buf);
        break;
    case IOCTL_HSP_ALERT:
        NEED(hsp_alert_in, hsp_status_out);
        out->status = (uint32_t)HspAlert(s, (hsp_alert_in *)buf);
        break;
    case IOCTL_HSP_GATE:
        NEED(hsp_gate_in, hsp_status_out);
        HspGate(s, (hsp_gate_in *)buf);
        break;
    case IOCTL_HSP_SWAP:
        NEED(hsp_swap_in, hsp_status_out);
        out->status = (uint32_t)HspSwapRequest(s, (hsp_swap_in *)buf);
        break;
    case IOCTL_HSP_MARK: {
        hsp_mark_in *in = (hsp_mark_in *)buf;
        NEED(hsp_mark_in, hsp_status_out);
        in->label[HSP_MARK_MAX - 1] = 0;
        HspMark(s, in->label, 0);
        break;
    }
    case IOCTL_HSP_CRASH:
        NEED(hsp_crash_in, hsp_status_out);
        if (((hsp_crash_in *)buf)->kind > HSP_CRASH_HANG)
            return STATUS_INVALID_PARAMETER;
        HspArmCrash(s, ((hsp_crash_in *)buf)->kind);
        break;
    default:
        return STATUS_INVALID_DEVICE_REQUEST;
    }
#undef NEED
    RtlCopyMemory(buf, out, sizeof *out);
    return STATUS_SUCCESS;
}
