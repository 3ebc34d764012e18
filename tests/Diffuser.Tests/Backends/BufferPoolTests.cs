using Diffuser.Backends;
using Diffuser.Tensors;

namespace Diffuser.Tests.Backends;

/// <summary>The pool on a device of a few bytes: buffers kept for reuse give way before an allocation fails.</summary>
public sealed class BufferPoolTests
{
    /// <summary>
    /// A device of <paramref name="capacity"/> bytes that fails as the backends' allocations do, with work queued on it
    /// that may still read any buffer: freeing one before <see cref="Drain"/> is a use after free.
    /// </summary>
    private sealed class SmallDevice(long capacity)
    {
        public long InUse { get; private set; }
        public bool WorkQueued { get; set; }

        public void Drain() => WorkQueued = false;

        public DeviceBuffer Allocate(long length, DType dtype)
        {
            long bytes = length * dtype.SizeInBytes();
            if (InUse + bytes > capacity) throw new DeviceOutOfMemoryException("small device", length, dtype, new OutOfMemoryException());
            InUse += bytes;
            return new Buffer(this, length, dtype);
        }

        private sealed class Buffer(SmallDevice device, long length, DType dtype) : DeviceBuffer(length, dtype)
        {
            public override void Dispose()
            {
                Assert.False(device.WorkQueued, "a buffer was freed while queued work might still read it");
                device.InUse -= SizeInBytes;
            }
        }
    }

    [Fact]
    public void BuffersKeptForReuseGiveWayWhenTheDeviceIsFull()
    {
        var device = new SmallDevice(capacity: 100);
        using var pool = new BufferPool(device.Allocate, device.Drain);
        var held = pool.Rent(10, DType.F32);                   // 40 bytes in use by a tensor
        pool.Return(pool.Rent(12, DType.F32));                 // 48 bytes kept for reuse (an earlier size)
        device.WorkQueued = true;                              // a queued kernel may still read the kept buffer

        var fresh = pool.Rent(14, DType.F16);                  // 28 more bytes: 116 > 100 until the kept buffer goes

        Assert.Equal(40 + 28, device.InUse);
        Assert.Equal(0, pool.BytesFree);
        Assert.Equal(40 + 28, pool.BytesAllocated);
        pool.Return(held);
        pool.Return(fresh);
    }

    [Fact]
    public void WhatTheTensorsHoldIsNeverFreedAndTheErrorSaysWhatDidNotFit()
    {
        var device = new SmallDevice(capacity: 100);
        using var pool = new BufferPool(device.Allocate, device.Drain);
        var held = pool.Rent(20, DType.F32);                   // 80 bytes in use by a tensor

        var e = Assert.Throws<DeviceOutOfMemoryException>(() => pool.Rent(20, DType.F16));

        Assert.Equal(80, device.InUse);
        Assert.Equal(20, e.Length);
        Assert.Contains("small device is out of memory: a buffer of 20 F16 elements", e.Message);
        pool.Return(held);
    }

    [Fact]
    public void ABufferFreedForGoodWaitsForTheQueuedWork()
    {
        var device = new SmallDevice(capacity: 100);
        using var pool = new BufferPool(device.Allocate, device.Drain);
        var dense = pool.Rent(10, DType.F16);                  // a filter's dense copy, still read by the packing kernel
        device.WorkQueued = true;

        pool.Free(dense);

        Assert.Equal(0, device.InUse);
        Assert.Equal(0, pool.BytesAllocated);
    }
}
