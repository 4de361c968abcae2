using System.Runtime.CompilerServices;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;

namespace MLNetSeg.Transforms.Scoring;

internal static class ImageTypeRegistration
{
    /// <summary>
    /// MLImage fields in row classes (PredictionEngine inputs, the saved CustomMappings) need
    /// ML.NET to know MLImage's column type; registering the same type again is a no-op.
    /// </summary>
#pragma warning disable CA2255 // a library initializer on purpose: it must run before ML.NET reflects over our row classes, in any process
    [ModuleInitializer]
    internal static void Register() => DataViewTypeManager.Register(new ImageDataViewType(), typeof(MLImage));
#pragma warning restore CA2255
}
