export interface Cours {
  id: string;
  title: string;
  subject: string | null;
  description: string | null;
  school_year: string;
  created_by: string;
  created_at: string;
  updated_at: string;
  teacher_ids: string[];
  class_ids: string[];
}

export interface FileInfo {
  id: string;
  name: string;
  content_type: string;
  size: number;
}

export interface Material {
  id: string;
  cours_id: string;
  title: string;
  description: string | null;
  section: string;
  position: number;
  publish_at: string | null;
  published: boolean;
  file_id: string | null;
  file: FileInfo | null;
  created_at: string;
  updated_at: string;
}

export interface ClassInfo {
  id: string;
  name: string;
  school_year: string;
  level?: string | null;
  student_count?: number;
  member_count?: number;
}

export interface UserInfo {
  id: string;
  email: string | null;
  given_name: string;
  family_name: string;
  name: string;
  role: 'etudiant' | 'enseignant' | 'admin';
  class: { id: string; name: string; school_year: string } | null;
  classes?: { id: string; name: string }[];
  disabled: boolean;
  active: boolean;
  activation_pending?: boolean;
  last_login_at?: string | null;
  activation_code?: string;
  activation_expires_at?: string;
}

export interface Period {
  id: string;
  name: string;
  school_year?: string;
  starts_on: string;
  ends_on: string;
}

export interface StudentEvaluation {
  id: string;
  title: string;
  date: string;
  coefficient: number;
  scale: number;
  status: 'graded' | 'absent' | 'exempt' | 'not_graded';
  value: number | null;
  value20: number | null;
  comment: string | null;
  class_average: number | null;
  min: number | null;
  max: number | null;
}

export interface SubjectGrades {
  course_id: string;
  title: string;
  subject: string | null;
  teachers: string[];
  average: number | null;
  class_average: number | null;
  min: number | null;
  max: number | null;
  evaluations: StudentEvaluation[];
}

export interface PeriodGrades extends Period {
  average: number | null;
  class_average: number | null;
  subjects: SubjectGrades[];
}

export interface StudentReport {
  student: { id: string; name: string };
  periods: PeriodGrades[];
  timeline: { date: string; average: number }[];
}

export interface Evaluation {
  id: string;
  course_id?: string;
  period_id?: string;
  title: string;
  date: string;
  coefficient: number;
  scale: number;
  publish_at: string | null;
  average?: number | null;
  min?: number | null;
  max?: number | null;
}

export interface GradeCell {
  status: 'graded' | 'absent' | 'exempt' | 'not_graded';
  value: number | null;
  comment: string | null;
}

export interface Grid {
  course: { id: string; title: string };
  period: Period | null;
  evaluations: Evaluation[];
  students: { id: string; name: string; class: string | null; grades: Record<string, GradeCell>; average: number | null }[];
  class_average: number | null;
}
