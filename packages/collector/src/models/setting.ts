import { Schema } from 'mongoose';

/** Installation-wide settings, e.g. the generated signing secret (`_id: 'signingSecret'`). */
export interface SettingDoc {
  _id: string;
  value: string;
  createdAt: Date;
}

const settingSchema = new Schema<SettingDoc>(
  {
    _id: { type: String, required: true },
    value: { type: String, required: true },
    createdAt: { type: Date, required: true },
  },
  { collection: 'settings', versionKey: false, autoIndex: false, autoCreate: false },
);

export { settingSchema };
