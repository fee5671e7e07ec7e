package gatt

// Weight Measurement 0x2A9D (GATT Specification Supplement, Weight
// Measurement; Weight Scale Service 1.0):
//
//	flags        uint8   bit0 imperial (else SI), bit1 time stamp, bit2 user
//	                     id, bit3 BMI and height; bits 4-7 reserved
//	weight       uint16  × 0.005 kg or × 0.01 lb; 0xFFFF = measurement
//	                     unsuccessful
//	time stamp   Date Time                        if bit1
//	user id      uint8, 255 unknown               if bit2
//	BMI          uint16  × 0.1 kg/m2              if bit3
//	height       uint16  × 0.001 m or × 0.1 in    if bit3
//
// Precision. Unlike the other characteristics, weight, BMI and height are
// not SFLOATs but counts of a fixed step, so a single value says nothing
// about the scale's own precision. The decoder keeps the precision of the
// step: kilograms with 3 decimals (raw 14000 is 70.000 kg, raw 14001 is
// 70.005 kg), pounds with 2, BMI with 1, height with 3 (m) or 1 (in). The
// scale's real resolution, 0.1 kg say, is declared once in the Weight Scale
// Feature characteristic (0x2A9E); rounding to it, if wanted, belongs to
// whoever reads that characteristic, not to this decoder.
//
// BMI and height are measurements of their own (39156-5, 8302-2), as the PHD
// IG has them; note that a scale's height is usually what the user typed in.
const (
	weightImperial  = 1 << 0
	weightTimeStamp = 1 << 1
	weightUserID    = 1 << 2
	weightBMI       = 1 << 3
	weightKnown     = weightImperial | weightTimeStamp | weightUserID | weightBMI

	weightUnsuccessful = 0xFFFF
)

func decodeWeight(d *Decoded, r *reader) error {
	flags, err := r.u8("flags")
	if err != nil {
		return err
	}
	d.UnknownFlags = flags &^ weightKnown
	imperial := flags&weightImperial != 0
	w, err := r.u16("weight")
	if err != nil {
		return err
	}
	var weight Decimal
	switch {
	case w == weightUnsuccessful:
		weight = Decimal{Special: Unsuccessful}
	case imperial:
		weight = Decimal{Mantissa: int32(w), Exponent: -2} // 0.01 lb
	default:
		weight = Decimal{Mantissa: int32(w) * 5, Exponent: -3} // 0.005 kg
	}
	unit := UnitKilogram
	if imperial {
		unit = UnitPound
	}
	d.Measurements = append(d.Measurements, measurement(LOINCBodyWeight, MDCMassBodyActual, weight, unit))
	if flags&weightTimeStamp != 0 {
		if d.Time, err = r.dateTime("time stamp"); err != nil {
			return err
		}
	}
	if flags&weightUserID != 0 {
		id, err := r.u8("user id")
		if err != nil {
			return err
		}
		d.UserID = Some(id)
	}
	if flags&weightBMI != 0 {
		bmi, err := r.u16("BMI")
		if err != nil {
			return err
		}
		h, err := r.u16("height")
		if err != nil {
			return err
		}
		height := Decimal{Mantissa: int32(h), Exponent: -3} // 0.001 m
		hunit := UnitMeter
		if imperial {
			height, hunit = Decimal{Mantissa: int32(h), Exponent: -1}, UnitInch // 0.1 in
		}
		d.Measurements = append(d.Measurements,
			measurement(LOINCBMI, MDCRatioMassBodyLenSq, Decimal{Mantissa: int32(bmi), Exponent: -1}, UnitKgPerM2),
			measurement(LOINCBodyHeight, MDCLenBodyActual, height, hunit))
	}
	return nil
}
