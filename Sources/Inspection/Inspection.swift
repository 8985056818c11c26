// Inspection: streaming body decoders, record segmentation, PI detectors, subject keys.
public enum InspectionModule { public static let name = "Inspection" }
